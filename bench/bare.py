"""A WSGI app that does no work: the floor for "what does one HTTP round trip cost here".

Used only when the product has no ``/healthz``; served by the same gunicorn argv as the app.
"""


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
