"""The communication counts behind the dashboard widget (plugins/communications/rollup.py) equal a
direct count of the communications after every kind of change: logging, deleting, scheduling and
rescheduling a send, a contact changing team, going to the trash and back, merges and unmerges."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from core.extensions import db
from core.models import Contact, utcnow
from core.services import contacts as contact_service
from core.services import merges
from plugins.communications import delivery, rollup, services
from tests import factories
from tests.core.test_migrations import fresh_url, make_app  # noqa: F401 - fixtures


def _direct() -> dict:
    """(team, month, type, direction) -> count, straight from the communications of live contacts."""
    month = rollup.month_sql(db.engine.dialect.name, "m.scheduled_at")
    rows = db.session.execute(text(
        f"SELECT c.owner_team_id, {month}, m.type, m.direction, count(*) FROM communications m "
        "JOIN contacts c ON c.id = m.contact_id WHERE c.deleted_at IS NULL GROUP BY 1, 2, 3, 4"))
    return {tuple(r[:4]): r[4] for r in rows}


def _stored() -> dict:
    rows = db.session.execute(text("SELECT team_id, month, type, direction, count FROM communications_rollup"))
    return {tuple(r[:4]): r[4] for r in rows if r[4]}


def _check(app) -> dict:
    with app.app_context():
        direct = _direct()
        assert _stored() == direct
        return direct


@pytest.fixture
def people(app, team, other_team):
    with app.app_context():
        t, o = db.session.merge(team), db.session.merge(other_team)
        return (factories.contact(t, "Grace", "Hopper").id, factories.contact(t, "Grace", "Brewster").id,
                factories.contact(o, "Alan", "Turing").id)


def _log(app, user, contact_id, kind="call", direction="outbound", when=None):
    data = {"type": kind, "direction": direction, "subject": "s"}
    if when is not None:
        data["when"] = when.strftime("%Y-%m-%dT%H:%M")
    with app.test_request_context():
        return services.log_communication(user, contact_id, data).id


def test_log_delete_and_reschedule_keep_the_counts(app, admin, people):
    a, b, c = people
    months_ago = utcnow().replace(day=1) - timedelta(days=40)
    ids = [_log(app, admin, a), _log(app, admin, a, "email", "inbound"), _log(app, admin, b, "meeting", when=months_ago),
           _log(app, admin, c, "call", when=months_ago)]
    counted = _check(app)
    assert sum(counted.values()) == 4 and len({k[0] for k in counted}) == 2
    with app.test_request_context():
        services.delete_communication(admin, ids[1])
    _check(app)
    with app.test_request_context():
        send = delivery.schedule(admin, a, {"subject": "Hi", "content": "Dear Grace", "to": "grace@example.org", "when": (utcnow() + timedelta(
            days=2)).isoformat(timespec="minutes")}).id
    _check(app)
    with app.test_request_context():
        delivery.reschedule(admin, send, {"when": (utcnow() + timedelta(days=70)).isoformat(timespec="minutes")})
    counted = _check(app)
    assert sum(counted.values()) == 4


def test_contact_team_trash_and_restore_move_its_counts(app, admin, other_team, people):
    a, b, _c = people
    for _ in range(3):
        _log(app, admin, a)
    _log(app, admin, b, "email")
    with app.test_request_context():
        version = db.session.get(Contact, a).version
        contact_service.update_contact(admin, a, {"owner_team_id": str(other_team.id)}, version)
    counted = _check(app)
    assert counted[(other_team.id, rollup.month_of(utcnow()), "call", "outbound")] == 3
    with app.test_request_context():
        contact_service.delete_contact(admin, a)
    assert sum(_check(app).values()) == 1
    with app.test_request_context():
        contact_service.restore_contact(admin, a)
    assert sum(_check(app).values()) == 4


def test_merge_and_unmerge_keep_the_counts(app, admin, people):
    a, _b, c = people  # different teams: the survivor takes the source's team
    for kind in ("call", "email", "meeting"):
        _log(app, admin, c, kind)
    _log(app, admin, a, "call", "inbound")
    before = _check(app)
    with app.test_request_context():
        merge_id = merges.merge_contacts(admin, a, c, {"owner_team_id": "source"}).id
    merged = _check(app)
    assert sum(merged.values()) == 4 and len({k[0] for k in merged}) == 1
    with app.test_request_context():
        merges.unmerge(admin, merge_id)
    assert _check(app) == before


def test_widget_shows_what_the_user_may_see(app, member, outsider, member_client, people):
    a, b, c = people
    _log(app, member, a, "email", "inbound")
    _log(app, member, b, "call")
    _log(app, outsider, c, "sms" if "sms" in services.LOG_TYPES else "meeting")
    with app.test_request_context():
        mine = rollup.summary(member)
        theirs = rollup.summary(outsider)
    assert mine["this_month"] == 2 and mine["by_direction"] == {"inbound": 1, "outbound": 1}
    assert dict(mine["by_type"]) == {"email": 1, "call": 1} and theirs["total"] == 1
    assert mine["months"][-1] == (rollup.month_of(utcnow()), 2) and len(mine["months"]) == 12
    page = member_client.get("/dashboard")
    assert b'hx-get="/communications/widget"' in page.data
    widget = member_client.get("/communications/widget")
    assert widget.status_code == 200 and b"<strong>2</strong> this month" in widget.data


def test_last_months_cross_the_year():
    assert rollup.last_months(datetime(2026, 2, 15), 3) == ["2025-12", "2026-01", "2026-02"]


def test_backfill_recounts_everything(app, admin, people):
    a, _b, c = people
    _log(app, admin, a)
    _log(app, admin, c, "email")
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE communications_rollup SET count = 99"))
            rollup.backfill(conn)
    _check(app)


def test_migration_counts_the_existing_communications(make_app):  # noqa: F811
    import flask_migrate

    app = make_app(["communications"])
    with app.app_context():
        flask_migrate.upgrade(revision="core@head")
        flask_migrate.upgrade(revision="communications_0003")
        now = "2026-03-04 05:06:07"
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO teams (id, name, created_at, updated_at) VALUES (7, 'T', :n, :n)"), {"n": now})
            for cid, deleted in ((1, None), (2, now)):
                conn.execute(text(
                    "INSERT INTO contacts (id, first_name, last_name, sort_name, phone, type, status, owner_team_id, "
                    "version, deleted_at, created_at, updated_at) VALUES (:id, 'A', 'B', 'b a', '', 'person', "
                    "'active', 7, 1, :d, :n, :n)"), {"id": cid, "d": deleted, "n": now})
            for cid, kind in ((1, "call"), (1, "call"), (1, "email"), (2, "call")):
                conn.execute(text(
                    "INSERT INTO communications (contact_id, type, direction, subject, content, status, scheduled_at, "
                    "attempts, created_at, updated_at) VALUES (:c, :k, 'outbound', '', '', 'logged', :n, 0, :n, :n)"),
                    {"c": cid, "k": kind, "n": datetime(2026, 3, 4, 5, 6, 7)})
        flask_migrate.upgrade(revision="heads")
        assert _stored() == _direct() == {(7, "2026-03", "call", "outbound"): 2, (7, "2026-03", "email", "outbound"): 1}
