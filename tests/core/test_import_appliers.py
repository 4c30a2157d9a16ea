"""What an import carries beyond the contact's columns reaches the right place: CSV tags become
tags (added, never removed), job title, notes and further phones become contact details, and a
vCard's CATEGORIES become tags and its labelled phones and URLs contact details."""

from __future__ import annotations

from sqlalchemy import func, select

from core.extensions import db
from core.models import Contact
from core.services import contacts, details, import_jobs, tags
from tests.core.test_import import _user, import_file

CSV = (
    b"First Name,Last Name,E-mail Address,Business Phone,Mobile Phone,Job Title,Notes,Categories\n"
    b"Ada,Lovelace,ada@example.org,+44 20 7946 0958,+44 7700 900123,Countess,Met in 1843,VIP;Math\n"
    b"Alan,Turing,alan@example.org,,,,,\n"
)


def _tag_names(contact):
    return sorted(t.name for t in tags.tags_of([contact.id]).get(contact.id, []))


def test_a_csv_import_saves_tags_and_details(ctx, member):
    actor = _user(member.id)
    info = import_jobs.inspect(actor, import_jobs.save_upload(actor, __import__("io").BytesIO(CSV), "o.csv"))
    targets = set(info["mapping"].values())
    assert {"tags", "title", "notes", "phone"} <= targets, info["mapping"]
    job = import_file(actor, CSV)
    assert job.status == "done" and job.error_count == 0, (job.message, job.errors)
    ada = db.session.scalar(select(Contact).where(Contact.email_key == "ada@example.org"))
    assert _tag_names(ada) == ["Math", "VIP"]
    found = details.details_of([ada.id])[ada.id]
    assert found["title"] == "Countess" and found["notes"] == "Met in 1843"
    assert [p["value"].replace(" ", "") for p in found["phones"]] == ["+447700900123"]  # the first is the contact's own
    alan = db.session.scalar(select(Contact).where(Contact.email_key == "alan@example.org"))
    assert _tag_names(alan) == []
    again = import_file(actor, CSV)  # a re-import changes nothing
    assert again.result["summary"].get("Created", 0) == 0
    assert _tag_names(ada) == ["Math", "VIP"]
    assert len(details.details_of([ada.id])[ada.id]["phones"]) == 1


def test_a_tag_name_too_long_rejects_its_row_and_keeps_the_others(ctx, member):
    actor = _user(member.id)
    long_name = "x" * (tags.MAX_NAME + 1)
    data = (b"First Name,Last Name,E-mail Address,Categories\n"
            b"Ada,Lovelace,ada@example.org,VIP\n"
            b"Bob,Long,bob@example.org," + long_name.encode() + b"\n")
    job = import_file(actor, data)
    assert job.status == "done" and job.error_count == 1, (job.message, job.errors)
    assert "tags: At most 50 characters" in str(job.errors)
    ada = db.session.scalar(select(Contact).where(Contact.email_key == "ada@example.org"))
    assert _tag_names(ada) == ["VIP"]
    assert db.session.scalar(select(Contact).where(Contact.email_key == "bob@example.org")) is None


def test_vcard_categories_labelled_phones_and_details_arrive(ctx, member):
    actor = _user(member.id)
    card = (b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Hopper;Grace;;;\r\nEMAIL:grace@example.org\r\nCATEGORIES:Navy,Code\r\n"
            b"TEL;TYPE=work:+1 415 555 0123\r\nTEL;TYPE=cell:555\r\nTEL;TYPE=home:+1 212 555 0100\r\n"
            b"URL:https://example.org\r\nEND:VCARD\r\n")
    job = import_file(actor, card, key="external_id")
    assert job.status == "done" and job.error_count == 0, job.errors
    grace = db.session.scalar(select(Contact).where(Contact.email_key == "grace@example.org"))
    assert _tag_names(grace) == ["Code", "Navy"] and grace.phone == "+14155550123"
    found = details.details_of([grace.id])[grace.id]
    assert found["phones"] == [{"label": "mobile", "value": "555"}, {"label": "home", "value": "+12125550100"}]
    assert found["urls"] == [{"label": "other", "value": "https://example.org"}]


def test_the_dry_run_preview_names_look_alikes_of_rows_it_would_create(ctx, member):
    actor = _user(member.id)
    contacts.create_contact(actor, {"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.example",
                                    "phone": "+14155550123"})
    text = b"First Name,Last Name,E-mail Address,Mobile Phone\nAmazing Grace,H,amazing@example.org,+1 415 555 0123\n"
    job = import_file(actor, text, dry_run=True)
    created = job.result["samples"]["created"]
    assert created[0]["looks_like"][0]["name"] == "Grace Hopper" and "phone" in created[0]["looks_like"][0]["why"]
    assert db.session.scalar(select(Contact.id).where(Contact.email_key == "amazing@example.org")) is None


def test_a_new_contact_has_one_audit_entry_with_its_details_tags_and_custom_fields(ctx, member, admin):
    from core.models import AuditEntry
    from core.services import audit, custom_fields

    custom_fields.create_field(_user(admin.id), {"key": "shoe_size", "label": "Shoe size", "kind": "number"})
    actor = _user(member.id)
    data = CSV.replace(b",Categories\n", b",Categories,Shoe size\n").replace(b"VIP;Math\n", b"VIP;Math,42\n")
    data = data.replace(b"Alan,Turing,alan@example.org,,,,,\n", b"Alan,Turing,alan@example.org,,,,,,\n")
    job = import_file(actor, data)
    assert job.status == "done" and job.error_count == 0, (job.message, job.errors)
    ada = db.session.scalar(select(Contact).where(Contact.email_key == "ada@example.org"))
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "contact",
                                                          AuditEntry.entity_id == ada.id)).all()
    assert entry.action == "created"
    assert entry.changes["email"] == [None, "ada@example.org"]
    assert entry.changes["title"] == [None, "Countess"] and entry.changes["notes"] == [None, "Met in 1843"]
    assert entry.changes["phones"][0] is None and "+447700900123" in entry.changes["phones"][1].replace(" ", "")
    assert entry.changes["tags"] == [None, "Math, VIP"] or entry.changes["tags"] == [None, "VIP, Math"]
    assert entry.changes["custom.shoe_size"] == [None, 42]
    assert ada.version == 1  # created, not created then updated
    alan = db.session.scalar(select(Contact).where(Contact.email_key == "alan@example.org"))
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_id == alan.id,
                                                                                AuditEntry.entity_type == "contact")) == 1
    assert audit.verify().ok
    # An existing contact whose details change still gets an "updated" entry of its own.
    again = import_file(actor, data.replace(b"Countess", b"Countess of Lovelace"))
    assert again.status == "done", again.message
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "contact",
                                                                 AuditEntry.entity_id == ada.id)
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["created", "updated"]
    assert audit.verify().ok


def test_a_reimport_that_changes_only_tags_details_or_custom_fields_counts_as_updated(ctx, member, admin):
    # Such a row left the contact's columns alone: it was counted "unchanged", and a custom field's
    # change kept the contact's version (its ETag), unlike the same change through the form.
    from core.services import custom_fields

    custom_fields.create_field(_user(admin.id), {"key": "shoe_size", "label": "Shoe size", "kind": "number"})
    actor = _user(member.id)
    first = b"First Name,Email,Job Title,Tags,Shoe size\nAda,ada@example.org,Countess,VIP,42\n"
    import_file(actor, first)
    ada = db.session.scalar(select(Contact).where(Contact.email_key == "ada@example.org"))
    ada_id, version = ada.id, ada.version

    def summary(data):
        job = import_file(actor, data)
        assert job.status == "done" and job.error_count == 0, (job.message, job.errors)
        s = job.result["summary"]
        return s["Created"], s["Updated"], s["Unchanged"]

    assert summary(first) == (0, 0, 1)
    assert summary(first.replace(b"Countess", b"Countess of Lovelace")) == (0, 1, 0)
    assert summary(first.replace(b"VIP", b"Math").replace(b"Countess", b"Countess of Lovelace")) == (0, 1, 0)
    assert summary(first.replace(b"42", b"43").replace(b"Countess", b"Countess of Lovelace")) == (0, 1, 0)
    # The import hands the contacts it matched from its session to its writer's (a re-import loads
    # them once), so this session's copy is read again by id.
    db.session.expire_all()
    ada = db.session.get(Contact, ada_id)
    assert ada.version == version + 3
    assert custom_fields.values_of([ada.id])[ada.id]["shoe_size"] == 43


def test_the_details_of_new_contacts_are_written_without_reading_the_contacts_back(ctx, member):
    """import_writer hands the details applier the primary email and phone it inserted for each new
    contact (import_appliers.written): the batch reads none of them back, and the further phones
    are still told apart from the contact's own."""
    from sqlalchemy import event

    statements: list[str] = []

    def seen(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        job = import_file(_user(member.id), CSV)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert job.status == "done" and job.error_count == 0, (job.message, job.errors)
    read_back = [s for s in statements if s.lstrip().startswith("SELECT contacts.id, contacts.email, contacts.phone")]
    assert read_back == []
    ada = db.session.scalar(select(Contact).where(Contact.email_key == "ada@example.org"))
    found = details.details_of([ada.id])[ada.id]
    assert found["title"] == "Countess" and [p["value"].replace(" ", "") for p in found["phones"]] == ["+447700900123"]
