"""The round trip with everything a contact carries beyond its core columns: tags, job title,
notes and custom fields of every kind are exported, imported back and exported identically."""

from __future__ import annotations

from sqlalchemy import delete

from core.extensions import db
from core.models import ContactTag, CustomFieldValue, Tag, User
from core.services import contacts, csv_export, custom_fields, details
from tests.core.test_export import _import_text, _reset_contacts

FIELDS = [
    {"key": "shoe_size", "label": "Shoe size", "kind": "number"},
    {"key": "vip", "label": "VIP", "kind": "boolean"},
    {"key": "since", "label": "Customer since", "kind": "date"},
    {"key": "langs", "label": "Languages", "kind": "multi_choice", "choices": ["en", "fr", "ja"]},
    {"key": "bio", "label": "Biography", "kind": "long_text"},
]


def _user(user_id):
    db.session.commit()
    return db.session.get(User, user_id)


def test_tags_details_and_custom_fields_round_trip(ctx, admin, member, team):
    for field in FIELDS:
        custom_fields.create_field(_user(admin.id), field)
    actor = _user(member.id)
    ada = details.create_contact(actor, {
        "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org", "tags": ["Math", "Ünïcode, ok"[:7]],
        "title": "Countess of Lovelace", "notes": "Line one\nLine two, with \"quotes\" and =SUM(A1)",
        "custom_fields": {"shoe_size": 37.5, "vip": True, "since": "1843-07-01", "langs": ["fr", "en"],
                          "bio": "Wrote the first program; 日本語 too."},
    })
    contacts.create_contact(actor, {"first_name": "Alan", "last_name": "Turing", "email": "alan@example.org"})
    first = csv_export.export_text(actor, raw=True)
    header = first.splitlines()[0]
    assert header.endswith("Tags,Job title,Notes,Shoe size,VIP,Customer since,Languages,Biography,UID")
    assert "Countess of Lovelace" in first and "Math; Ünïcode" in first and "en|fr" in first
    db.session.execute(delete(ContactTag))
    db.session.execute(delete(Tag))
    db.session.execute(delete(CustomFieldValue))
    _reset_contacts()
    job = _import_text(actor, first)
    assert job.error_count == 0, job.errors
    assert csv_export.export_text(actor, raw=True) == first
    assert ada.id  # (a new id now; the file is the same)


def test_a_bad_custom_field_cell_rejects_its_row_and_names_the_field(ctx, admin, member):
    custom_fields.create_field(_user(admin.id), FIELDS[0])
    actor = _user(member.id)
    text = ("First name,Last name,Email,Phone,Organization,Type,Status,Team,Shoe size\n"
            "Ada,Lovelace,ada@example.org,,,,,,big\n"
            "Alan,Turing,alan@example.org,,,,,,44\n")
    job = _import_text(actor, text)
    assert job.result["summary"]["Created"] == 1 and job.error_count == 1
    assert job.errors[0]["ref"] == 2 and "custom.shoe_size" in job.errors[0]["message"]
