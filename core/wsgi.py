"""The WSGI entry point for production servers: ``gunicorn core.wsgi:app``.

Settings come from the ``CONTACTS_*`` environment variables, like every other door.
"""

from core import create_app

app = create_app()
