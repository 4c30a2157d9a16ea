"""A contact as ``ContactSchema`` dumps it, built in one pass without marshmallow's machinery.

Every API answer about one contact (create, read, update, restore, a 409's current record) dumped it
field by field: each field's lookup through the details wrapper, its serializer and the schema's
hooks were ~300 Python calls, about a fifteenth of an API write. The fields are fixed, so their
values are written out here, each converted as its marshmallow field converts it (``Integer``:
``int`` or None, ``String``: ``str`` or None, ``DateTime``/``Date``: ISO text, ``Function``: its
function, lists of ``Nested``: each item's declared keys). The schema stays what the OpenAPI
document is built from and what dumps anything else (a list's page, a schema given ``only`` or
``exclude``); fields a subclass adds (``possible_duplicates``) are dumped by their own field.
tests/core/test_api_contact_json.py checks both dumps give the same JSON for many kinds of contact.
"""

from __future__ import annotations

from datetime import UTC

from ..services import details
from ..services.custom_fields import values_for
from ..services.fields import format_phone

LABELED = ("label", "value")
ADDRESS = ("label", "street", "locality", "region", "postcode", "country")


def _text(value):
    """``fields.String``'s dump."""
    if value is None or type(value) is str:
        return value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _int(value):
    """``fields.Integer``'s dump."""
    return None if value is None else int(value)


def _time(value):
    """``schemas.UtcDateTime``'s dump: naive times are UTC."""
    if value is None:
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


def _items(items, keys: tuple):
    """A list of ``fields.Nested`` dicts: each item's declared keys it has, as text."""
    if items is None:
        return None
    return [{key: _text(item[key]) for key in keys if key in item} for item in items]


def fields_of(contact, actor) -> dict:
    """``ContactSchema``'s own fields of ``contact`` (the schema's functions, in its order)."""
    from ..services import taxonomy

    found = details.details(contact)
    birthday = found["birthday"]
    return {
        "emails": _items(found["emails"], LABELED),
        "phones": _items(found["phones"], LABELED),
        "urls": _items(found["urls"], LABELED),
        "addresses": _items(found["addresses"], ADDRESS),
        "title": _text(found["title"]),
        "birthday": None if birthday is None else birthday.isoformat(),
        "notes": _text(found["notes"]),
        "has_photo": found["has_photo"],
        "id": _int(contact.id),
        "first_name": _text(contact.first_name),
        "last_name": _text(contact.last_name),
        "full_name": _text(contact.full_name),
        "email": _text(contact.email),
        "phone": _text(contact.phone),
        "phone_display": format_phone(contact.phone),
        "organization_id": _int(contact.organization_id),
        "type": _text(contact.type),
        "status": _text(contact.status),
        "owner_team_id": _int(contact.owner_team_id),
        "reports_to_id": _int(contact.reports_to_id),
        "tags": taxonomy.tag_names(actor, contact),
        "group_ids": taxonomy.group_ids(actor, contact),
        "category_id": _int(contact.category_id),
        "version": _int(contact.version),
        "created_at": _time(contact.created_at),
        "updated_at": _time(contact.updated_at),
        "deleted_at": _time(contact.deleted_at),
        "custom_fields": values_for(contact),
    }
