"""The WSGI entry point for production servers: ``gunicorn core.wsgi:app``.

Settings come from the ``CONTACTS_*`` environment variables, like every other door. The server does
not migrate (``contacts serve`` and ``contacts db upgrade`` do, before), so its app goes without the
Alembic machinery (``MIGRATIONS``: core/setup.py ``init_migrations``), and its workers share compiled
templates (``TEMPLATE_BYTECODE_CACHE``: core/__init__.py).
"""

from core import checkpoints, create_app

app = create_app({"MIGRATIONS": False, "TEMPLATE_BYTECODE_CACHE": True})
checkpoints.start(app)  # SQLite: WAL checkpoints in a thread, not inside a request's commit
