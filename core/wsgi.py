"""The WSGI entry point for production servers: ``gunicorn core.wsgi:app``.

Settings come from the ``CONTACTS_*`` environment variables, like every other door.
"""

from core import checkpoints, create_app

app = create_app()
checkpoints.start(app)  # SQLite: WAL checkpoints in a thread, not inside a request's commit
