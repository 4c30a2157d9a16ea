"""The outside plugin: found through its entry point, migrated through its own branch, and
working end to end (model, route, contact-page panel, CLI command, task) without core changes."""

from __future__ import annotations

import tomllib
import uuid
from datetime import date
from importlib.metadata import EntryPoint

import flask_migrate
import pytest
from flask_login import FlaskLoginClient
from sqlalchemy import create_engine, inspect, select, text

from core import create_app
from core import plugins as plugin_loader
from core.cli import cli
from core.extensions import db
from core.models import AuditEntry
from tests import conftest, factories
from tests.outside_plugin import support
from tests.outside_plugin.support import outside_plugin  # noqa: F401 - fixture


def declared_entry_point() -> EntryPoint:
    """The entry point exactly as the package declares it in its pyproject.toml."""
    meta = tomllib.loads((support.FOLDER / "pyproject.toml").read_text())
    ((name, value),) = meta["project"]["entry-points"][plugin_loader.GROUP].items()
    return EntryPoint(name=name, value=value, group=plugin_loader.GROUP)


@pytest.fixture
def with_entry_point(monkeypatch, outside_plugin):  # noqa: F811
    """Pretend ``pip install tests/outside_plugin`` happened: add its entry point to the installed ones."""
    real = plugin_loader.entry_points

    def entry_points(group):
        found = list(real(group=group))
        if group == plugin_loader.GROUP and not any(ep.name == "birthdays" for ep in found):
            found.append(declared_entry_point())
        return found

    monkeypatch.setattr(plugin_loader, "entry_points", entry_points)


def test_it_is_discovered_through_its_entry_point(with_entry_point):
    found = plugin_loader.installed()
    assert found["birthdays"].module == "contacts_birthdays"
    pm = plugin_loader.new_manager()
    report = plugin_loader.load(pm, None)  # None: every installed plugin
    assert report["birthdays"].enabled and report["birthdays"].error == ""
    assert report["birthdays"].version == "0.2.0"
    assert pm.get_plugin("birthdays").__name__ == "contacts_birthdays"


@pytest.fixture(scope="module")
def birthday_app(tmp_path_factory, outside_plugin):  # noqa: F811
    """All four plugins plus this one, on a database migrated with ``upgrade heads``."""
    base = conftest.TEST_DB
    schema = None
    if base and base.startswith("postgresql"):
        schema = f"birthdays_test_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('birthdays') / 'app.db'}"
    app = create_app(conftest.test_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=url),
                     plugins=[*conftest.ALL_PLUGINS, support.NAME])
    app.test_client_class = FlaskLoginClient
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        assert "birthdays_dates" in inspect(db.engine).get_table_names()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if schema:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def people(birthday_app):
    conftest.reset_database(birthday_app)
    with birthday_app.app_context():
        sales, support_team = factories.team("Sales"), factories.team("Support")
        member = factories.user("member", [sales])
        viewer = factories.user("viewer", [sales])
        outsider = factories.user("member", [support_team])
        contact = factories.contact(sales, "Grace", "Hopper")
        ids = {"contact": contact.id, "member": member.id, "viewer": viewer.id, "outsider": outsider.id}
    return ids


def client(app, user_id):
    from core.models import User

    with app.app_context():
        user = db.session.get(User, user_id)
        _ = user.teams
        db.session.expunge_all()
    return app.test_client(user=user)


def test_the_contact_page_lazy_loads_the_panel(birthday_app, people):
    member = client(birthday_app, people["member"])
    page = member.get(f"/contacts/{people['contact']}")
    assert page.status_code == 200
    assert f'hx-get="/birthdays/contacts/{people["contact"]}"' in page.get_data(as_text=True)

    panel = member.get(f"/birthdays/contacts/{people['contact']}")
    assert panel.status_code == 200
    body = panel.get_data(as_text=True)
    assert "No birthday recorded." in body and "<html" not in body  # a fragment, not a page
    assert 'name="day"' in body


def test_setting_a_birthday_goes_through_the_core(birthday_app, people):
    member = client(birthday_app, people["member"])
    url = f"/birthdays/contacts/{people['contact']}"
    saved = member.post(url, data={"day": "1906-12-09", "note": "Admiral"})
    assert saved.status_code == 200
    assert "09 December 1906" in saved.get_data(as_text=True)
    with birthday_app.app_context():
        from contacts_birthdays.models import Birthday

        stored = db.session.scalar(select(Birthday).where(Birthday.contact_id == people["contact"]))
        assert stored.day == date(1906, 12, 9) and stored.note == "Admiral"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "birthday"))
        assert entry.actor_id == people["member"] and entry.changes == {"day": [None, "1906-12-09"]}


@pytest.mark.parametrize(("day", "field"), [("09/12/1906", "day"), ("2999-01-01", "day"), ("", "day")])
def test_bad_input_is_a_422_naming_the_field(birthday_app, people, day, field):
    member = client(birthday_app, people["member"])
    answer = member.post(f"/birthdays/contacts/{people['contact']}", data={"day": day})
    assert answer.status_code == 422
    assert 'class="field-error"' in answer.get_data(as_text=True)


def test_long_note_is_refused(birthday_app, people):
    member = client(birthday_app, people["member"])
    answer = member.post(f"/birthdays/contacts/{people['contact']}", data={"day": "1906-12-09", "note": "x" * 201})
    assert answer.status_code == 422
    assert "At most 200 characters." in answer.get_data(as_text=True)


def test_permissions_come_from_the_core_policy(birthday_app, people):
    url = f"/birthdays/contacts/{people['contact']}"
    viewer = client(birthday_app, people["viewer"])
    seen = viewer.get(url)
    assert seen.status_code == 200 and 'name="day"' not in seen.get_data(as_text=True)
    assert viewer.post(url, data={"day": "1906-12-09"}).status_code == 403
    outsider = client(birthday_app, people["outsider"])
    assert outsider.get(url).status_code == 404
    assert outsider.post(url, data={"day": "1906-12-09"}).status_code == 404
    assert birthday_app.test_client().get(url).status_code in (302, 401)


def test_its_cli_command_and_task(birthday_app, people):
    from contacts_birthdays.models import Birthday

    today = date.today()
    with birthday_app.app_context():
        db.session.add(Birthday(contact_id=people["contact"], day=today.replace(year=1992)))
        db.session.commit()
    result = birthday_app.test_cli_runner().invoke(cli, ["birthdays-today"])
    assert result.exit_code == 0, result.output
    assert result.output.split("\t")[:2] == [str(people["contact"]), "Grace Hopper"]
    with birthday_app.app_context():
        task = birthday_app.extensions["contacts_tasks"]["birthdays.count_today"]
        assert task.call_local() == 1


def test_its_branch_downgrades_alone(birthday_app, people):
    with birthday_app.app_context():
        flask_migrate.downgrade(revision="birthdays@base")
        names = set(inspect(db.engine).get_table_names())
        assert "birthdays_dates" not in names and {"contacts", "communications"} <= names
        flask_migrate.upgrade(revision="heads")
        assert "birthdays_dates" in inspect(db.engine).get_table_names()
