"""The WSGI entry point for production servers: ``gunicorn core.wsgi:app``.

Settings come from the ``CONTACTS_*`` environment variables, like every other door. The server does
not migrate (``contacts serve`` and ``contacts db upgrade`` do, before), so its app goes without the
Alembic machinery (``MIGRATIONS``: core/setup.py ``init_migrations``), and its workers share compiled
templates (``TEMPLATE_BYTECODE_CACHE``: core/__init__.py).

``contacts serve`` imports this module once, in gunicorn's master, and forks the workers from it
(``--preload``, core/serve.py); other servers may import it in each worker. Either way:

- no garbage collection while the app is built: the ~165,000 objects the imports and the app leave
  live as long as the process, yet the collector walked them again and again as they piled up
  (~0.12 of the ~0.8 CPU s the import took). They are frozen afterwards (``gc.freeze``), so later
  full collections skip them (each took ~0.07 s) and leave alone the pages a forked worker shares
  with its master; the ~70,000 objects the build left as garbage stay (~1 MB resident).
- a worker forked from here drops the database connections it inherited, unused (SQLAlchemy's
  advice for forks: two processes must never share one), and starts its own WAL checkpoint thread
  with its first connection (core/checkpoints.py).
"""

import gc
import os

gc.disable()
try:
    from core import checkpoints, create_app
    from core.extensions import db

    app = create_app({"MIGRATIONS": False, "TEMPLATE_BYTECODE_CACHE": True})
    checkpoints.start(app)  # SQLite: WAL checkpoints in a thread, not inside a request's commit
    with app.app_context():
        os.register_at_fork(after_in_child=lambda engine=db.engine: engine.dispose(close=False))
    gc.freeze()
finally:
    gc.enable()
