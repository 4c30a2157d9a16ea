"""Flask extensions, created once at import and bound to each app in ``create_app``.

Flask-Migrate (and with it Alembic, ~11 MB and ~0.2 s of imports) is not among them: the web server
never migrates, so ``core.setup.init_migrations`` binds it only to apps built for the CLI and tests."""

from flask_caching import Cache
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

from .sessions import LoginManager

# Stable constraint names, so Alembic autogenerate and batch mode behave on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()
cache = Cache()
pages = Cache(with_jinja2_ext=False)  # rendered pages shared between users (core/views/page_cache.py)
limiter = Limiter(key_func=get_remote_address, default_limits=[], strategy="fixed-window")
