"""Loading the outside plugin in tests without pip-installing it.

Its folder goes on ``sys.path`` and ``create_app(plugins=[NAME])`` enables it by module path
(the entry point is exercised separately, through ``core.plugins.installed``). Its models are
imported as soon as this module is (at collection), so the session's ``app`` fixture, which
drops and creates every table in the shared metadata, handles its table too; the
``outside_plugin`` fixture makes sure the table exists even when ``app`` was set up earlier,
and drops it at the end of the session.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.extensions import db

FOLDER = Path(__file__).resolve().parent
NAME = "contacts_birthdays"
TABLES = ("birthdays_dates",)


def import_plugin():
    if str(FOLDER) not in sys.path:
        sys.path.insert(0, str(FOLDER))
    import contacts_birthdays
    import contacts_birthdays.models  # noqa: F401 - puts the plugin's table in the metadata

    return contacts_birthdays


import_plugin()


def tables():
    return [db.metadata.tables[name] for name in TABLES]


@pytest.fixture(scope="session")
def outside_plugin(app):
    """The outside plugin's module, with its table created in the session's test database."""
    module = import_plugin()
    with app.app_context():
        db.metadata.create_all(db.engine, tables=tables(), checkfirst=True)
    yield module
    with app.app_context():
        db.session.remove()
        db.metadata.drop_all(db.engine, tables=tables(), checkfirst=True)
