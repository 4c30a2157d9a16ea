"""Contact details through the services (core/services/details.py, details_merge.py): validation,
audit, versions, permissions, the photo, import_many and the merge contract."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core.errors import NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact, User
from core.models.details import ContactAddress, ContactValue
from core.services import details, details_merge
from tests import factories

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64


def actor(user) -> User:
    return db.session.get(User, user.id)


def contact_in(team, first="Ada", last="Lovelace", **extra) -> Contact:
    return factories.contact(db.session.merge(team), first, last, **extra)


FULL = {
    "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
    "emails": [{"label": "work", "value": "Ada@Work.Example.org"}, {"label": "home", "value": "ada@home.example.org"}],
    "phones": [{"label": "mobile", "value": "+1 650 253 0000"}],
    "urls": [{"label": "other", "value": "example.org/ada"}],
    "addresses": [{"label": "home", "street": "12 St James's Square", "locality": "London", "region": "",
                   "postcode": "SW1Y 4JH", "country": "United Kingdom"}],
    "title": "Countess", "birthday": "1815-12-10", "notes": "Met at the fair.\r\nSecond line.",
}


def test_create_with_details_normalizes_saves_and_audits(ctx, member):
    contact = details.create_contact(actor(member), FULL)
    found = details.details_of([contact.id])[contact.id]
    assert found["emails"] == [{"label": "work", "value": "Ada@work.example.org"},
                               {"label": "home", "value": "ada@home.example.org"}]
    assert found["phones"] == [{"label": "mobile", "value": "+16502530000"}]
    assert found["urls"] == [{"label": "other", "value": "https://example.org/ada"}]
    assert found["addresses"][0]["postcode"] == "SW1Y 4JH" and found["title"] == "Countess"
    assert found["birthday"] == date(1815, 12, 10) and found["notes"] == "Met at the fair.\nSecond line."
    assert contact.version == 1  # a new contact's details do not bump it
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_id == contact.id)
                                 .order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["created"]  # one transaction, one entry with the details in it
    assert entries[0].changes["phones"] == [None, "+16502530000 (mobile)"]


def test_update_replaces_only_the_keys_sent_and_bumps_the_version(ctx, member):
    contact = details.create_contact(actor(member), FULL)
    updated = details.update_contact(actor(member), contact.id, {"phones": [], "title": "Analyst"}, 1)
    assert updated.version == 2
    found = details.details_of([contact.id])[contact.id]
    assert found["phones"] == [] and found["title"] == "Analyst" and len(found["emails"]) == 2
    same = details.update_contact(actor(member), contact.id, {"title": "Analyst"}, 2)
    assert same.version == 2  # nothing changed: no new version, no audit entry


def test_the_primary_email_is_not_repeated_as_an_extra_one(ctx, member):
    contact = details.create_contact(actor(member), {"first_name": "A", "email": "a@example.org",
                                                     "emails": [{"label": "work", "value": "A@example.org"}]})
    assert details.details_of([contact.id])[contact.id]["emails"] == []


def _fail_after_details(monkeypatch):
    """The details are written, then the save fails (a lost connection, a full disk)."""
    real = details._write

    def write_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        db.session.flush()
        raise RuntimeError("disk full")

    monkeypatch.setattr(details, "_write", write_then_fail)


def test_a_failure_writing_details_leaves_no_contact_behind(ctx, member, monkeypatch):
    _fail_after_details(monkeypatch)
    with pytest.raises(RuntimeError):
        details.create_contact(actor(member), FULL)
    assert db.session.scalar(select(Contact).where(Contact.email_key == "ada@example.org")) is None
    assert db.session.scalars(select(ContactValue)).all() == []


def test_a_failure_writing_details_keeps_the_contact_as_it_was(ctx, member, monkeypatch):
    contact = details.create_contact(actor(member), FULL)
    _fail_after_details(monkeypatch)
    with pytest.raises(RuntimeError):
        details.update_contact(actor(member), contact.id, {"first_name": "Augusta", "title": "Analyst"}, 1)
    db.session.expire_all()
    again = db.session.get(Contact, contact.id)
    assert (again.first_name, again.version) == ("Ada", 1)
    assert details.details_of([contact.id])[contact.id]["title"] == "Countess"


def test_an_email_clash_with_details_names_the_email_and_saves_nothing(ctx, team, member):
    holder = details.create_contact(actor(member), {"first_name": "Grace", "email": "grace@example.org"})
    with pytest.raises(ValidationError) as exc:
        details.create_contact(actor(member), {**FULL, "email": "Grace@example.org"})
    assert exc.value.errors == {"email": ["Another contact already has this email address."]}
    assert db.session.scalar(select(Contact).where(Contact.first_name == "Ada")) is None
    assert db.session.scalars(select(ContactValue)).all() == []
    other = details.create_contact(actor(member), {"first_name": "Ada", "email": "ada@example.org"})
    with pytest.raises(ValidationError) as exc:
        details.update_contact(actor(member), other.id, {"email": "grace@example.org", "title": "Admiral"}, 1)
    assert exc.value.errors == {"email": ["Another contact already has this email address."]}
    assert details.details_of([other.id])[other.id]["title"] == ""
    details.update_contact(actor(member), holder.id, {"title": "Rear admiral"}, 1)  # the session is usable again
    assert details.details_of([holder.id])[holder.id]["title"] == "Rear admiral"


def test_the_form_shows_the_clash_message_when_details_are_sent(app, member_client, team):
    with app.app_context():
        holder = contact_in(team, "Grace", "Hopper", email="grace@example.org").id
    answer = member_client.post("/contacts/new", headers={"HX-Request": "true"}, data={
        "first_name": "G", "email": "grace@example.org", "details": "1", "title": "Admiral",
        "emails-label": "work", "emails-value": "g@navy.example.org"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "already has this email" in body and f'href="/contacts/{holder}"' in body
    with app.app_context():
        assert db.session.scalars(select(ContactValue)).all() == []


@pytest.mark.parametrize(("data", "field"), [
    ({"emails": [{"label": "work", "value": "not-an-email"}]}, "emails"),
    ({"emails": [{"label": "boss", "value": "a@example.org"}]}, "emails"),
    ({"phones": [{"label": "home", "value": "12"}]}, "phones"),
    ({"urls": [{"label": "home", "value": "not a url"}]}, "urls"),
    ({"addresses": [{"label": "home", "street": "x" * 501}]}, "addresses"),
    ({"addresses": "Main Street"}, "addresses"),
    ({"birthday": "31/12/1990"}, "birthday"),
    ({"birthday": "2999-01-01"}, "birthday"),
    ({"title": "x" * 201}, "title"),
    ({"emails": [{"label": "work", "value": f"a{i}@example.org"} for i in range(21)]}, "emails"),
])
def test_bad_details_name_the_field_and_save_nothing(ctx, member, data, field):
    with pytest.raises(ValidationError) as exc:
        details.create_contact(actor(member), {"first_name": "Bad", **data})
    assert field in exc.value.errors
    assert db.session.scalar(select(Contact).where(Contact.first_name == "Bad")) is None


def test_viewers_and_outsiders_cannot_change_details(ctx, team, viewer, outsider):
    contact = contact_in(team)
    with pytest.raises(PermissionDenied):
        details.update_contact(actor(viewer), contact.id, {"title": "x"}, None)
    with pytest.raises(NotFound):
        details.set_photo(actor(outsider), contact.id, PNG)
    with pytest.raises(NotFound):
        details.get_photo(actor(outsider), contact.id)


def test_photo_set_replace_remove_and_limits(ctx, team, member):
    contact = contact_in(team)
    details.set_photo(actor(member), contact.id, PNG)
    row = details.get_photo(actor(member), contact.id)
    assert row.mime == "image/png" and row.data == PNG
    details.set_photo(actor(member), contact.id, JPEG)
    assert details.get_photo(actor(member), contact.id).mime == "image/jpeg"
    for bad, message in ((b"GIF", "JPEG, PNG or GIF"), (b"", "Choose"), (JPEG + b"x" * details.PHOTO_MAX_BYTES, "At most")):
        with pytest.raises(ValidationError) as exc:
            details.set_photo(actor(member), contact.id, bad)
        assert message in exc.value.errors["photo"][0]
    details.remove_photo(actor(member), contact.id)
    assert details.get_photo(actor(member), contact.id) is None
    actions = db.session.scalars(select(AuditEntry.changes).where(AuditEntry.entity_id == contact.id)).all()
    assert sum(1 for c in actions if "photo" in c) == 3


def test_import_many_is_lenient_and_sets_the_photo(ctx, team, member):
    from core.database import transaction

    contact, other = contact_in(team, email="ada@example.org"), contact_in(team, email="bob@example.org")
    with transaction():
        changed = details.import_many(actor(member), [(db.session.merge(contact), {
            "emails": [{"label": "work", "value": "nope"}, {"label": "home", "value": "h@example.org"}],
            "phones": [{"label": "work", "value": "(111) 555-1111"}, {"label": "home", "value": "BusinessPhone"}],
            "birthday": "--1231", "title": "T" * 300, "notes": "Hello", "photo": {"mime": "image/jpeg", "data": JPEG},
        }), (db.session.merge(other), {"photo": {"mime": "image/jpeg", "data": b"not an image"}})])
    assert changed == 1
    found = details.details_of([contact.id, other.id])
    assert found[contact.id]["emails"] == [{"label": "home", "value": "h@example.org"}]
    assert found[contact.id]["phones"] == [{"label": "work", "value": "(111) 555-1111"}]  # kept as written
    assert found[contact.id]["notes"] == "Hello" and found[contact.id]["title"] == ""
    assert found[contact.id]["birthday"] is None and found[contact.id]["has_photo"]
    assert not found[other.id]["has_photo"]
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_id == contact.id,
                                                          AuditEntry.action == "updated")).all()
    assert {"emails", "phones", "notes", "photo"} <= set(entry.changes)


# --- merge contract ------------------------------------------------------------------------------


def _values(contact_id):
    return db.session.execute(select(ContactValue.id, ContactValue.kind, ContactValue.label, ContactValue.value,
                                     ContactValue.position).where(ContactValue.contact_id == contact_id)
                              .order_by(ContactValue.kind, ContactValue.position)).all()


def _addresses(contact_id):
    return db.session.execute(select(ContactAddress.label, ContactAddress.street, ContactAddress.position)
                              .where(ContactAddress.contact_id == contact_id).order_by(ContactAddress.position)).all()


def test_merge_moves_rows_skips_duplicates_and_unmerge_restores_exactly(app, ctx, team, member):
    user = actor(member)
    target = details.create_contact(user, {"first_name": "T", "email": "t@example.org",
                                           "emails": [{"label": "work", "value": "shared@example.org"}],
                                           "addresses": [{"label": "home", "street": "1 Same St"}]})
    source = details.create_contact(user, {"first_name": "S", "email": "s@example.org",
                                           "emails": [{"label": "home", "value": "SHARED@example.org"},
                                                      {"label": "work", "value": "own@example.org"},
                                                      {"label": "other", "value": "t@example.org"}],
                                           "phones": [{"label": "mobile", "value": "+16502530000"}],
                                           "addresses": [{"label": "work", "street": "1 same st"},
                                                         {"label": "work", "street": "2 Other St"}]})
    before_source, before_target = _values(source.id), _values(target.id)
    before_addresses = _addresses(source.id)
    hook = app.extensions["contacts_pm"].hook
    undo = {}
    for answer in hook.contacts_contacts_merged(target=target, source=source, actor=user):
        undo.update(answer or {})
    record = undo[details_merge.UNDO_KEY]
    assert len(record["values"]) == 2 and len(record["dropped_values"]) == 2 and len(record["dropped_addresses"]) == 1
    assert _values(source.id) == [] and _addresses(source.id) == []
    merged = details.details_of([target.id])[target.id]
    assert [e["value"] for e in merged["emails"]] == ["shared@example.org", "own@example.org"]
    assert [a["street"] for a in merged["addresses"]] == ["1 Same St", "2 Other St"]
    for _ in range(2):  # idempotent
        hook.contacts_contacts_unmerged(target=target, source=source, actor=user, undo=undo)
    restored = _values(source.id)
    assert [(r.kind, r.label, r.value, r.position) for r in restored] == [
        (r.kind, r.label, r.value, r.position) for r in before_source]
    assert _values(target.id) == before_target and _addresses(source.id) == before_addresses
    hook.contacts_contacts_unmerged(target=target, source=source, actor=user, undo={"planning": {"moved": []}})


def test_merge_of_a_contact_without_details_records_nothing(ctx, team, member):
    a, b = contact_in(team, "A"), contact_in(team, "B")
    assert details_merge.repoint(a, b, actor(member)) is None
    assert details_merge.unrepoint(a, b, actor(member), None) == 0
