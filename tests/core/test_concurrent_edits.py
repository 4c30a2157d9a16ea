"""Two saves of one contact at the same moment (PostgreSQL: SQLite's writers take turns): the
second read the contact before the first committed, so its version check passed and its UPDATE
then matched no row; that StaleDataError was a 500. It is a 409 that says to reload."""

from __future__ import annotations

import threading

from core.errors import Conflict
from core.extensions import db
from core.models import Contact, User
from core.plugins import hookimpl
from core.services import contacts as contact_service
from tests import factories


class SecondSaveMeanwhile:
    def __init__(self, app, member_id, contact_id, version):
        self.app, self.member_id, self.contact_id, self.version = app, member_id, contact_id, version
        self.thread, self.outcome = None, {}

    @hookimpl
    def contacts_record_written(self, entity_type, entity_id, action, actor, changes):
        if self.thread is not None or entity_type != "contact":
            return
        self.thread = threading.Thread(target=self.again, daemon=True)
        self.thread.start()
        self.thread.join(timeout=2)  # the second one reads, then waits for this transaction (either way)

    def again(self):
        with self.app.test_request_context():
            try:
                actor = db.session.get(User, self.member_id)
                contact_service.update_contact(actor, self.contact_id, {"last_name": "Second"}, self.version)
                self.outcome["saved"] = True
            except Conflict as exc:
                self.outcome["conflict"] = exc
            except Exception as exc:  # noqa: BLE001 - the test says what went wrong
                self.outcome["error"] = exc
            finally:
                db.session.remove()


def test_the_second_of_two_saves_at_once_is_a_conflict(app, ctx, member, team):
    contact = factories.contact(db.session.merge(team), "Ada", "Lovelace")
    contact_id, version = contact.id, contact.version
    db.session.commit()
    racer = SecondSaveMeanwhile(app, member.id, contact_id, version)
    pm = app.extensions["contacts_pm"]
    pm.register(racer, name="test-second-save")
    try:
        contact_service.update_contact(member, contact_id, {"last_name": "First"}, version)
        racer.thread.join(timeout=30)
    finally:
        pm.unregister(racer)
    assert not racer.thread.is_alive()
    assert isinstance(racer.outcome.get("conflict"), Conflict), racer.outcome
    db.session.expire_all()
    assert db.session.get(Contact, contact_id).last_name == "First"
