"""The contact schema's detail fields (mixed into ContactSchema / ContactInSchema in schemas.py):
extra emails, phones and URLs with labels, addresses, title, birthday, notes and has_photo."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..models.details import LABELS
from ..services import details as service

_LABEL = validate.OneOf(LABELS)


def no_nul(value: str) -> None:
    """The check every text field of the API's input schemas makes."""
    if "\x00" in value:
        raise ma.ValidationError("Contains a NUL character.")


def _text(description: str, example, max_len: int, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(max=max_len), no_nul],
                         metadata={"description": description, "example": example}, **kwargs)


class LabeledValueSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    label = fields.String(validate=_LABEL, load_default="other",
                          metadata={"description": "home, work, mobile or other.", "example": "work"})
    value = _text("The email address, phone number or web address.", "ada@work.example.org", 500, required=True)


class AddressSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    label = fields.String(validate=_LABEL, load_default="other",
                          metadata={"description": "home, work, mobile or other.", "example": "home"})
    street = _text("Street lines (newlines allowed).", "12 St James's Square", 500, load_default="")
    locality = _text("City or town.", "London", 200, load_default="")
    region = _text("State, county or region.", "", 200, load_default="")
    postcode = _text("Postal code.", "SW1Y 4JH", 40, load_default="")
    country = _text("Country.", "United Kingdom", 200, load_default="")


def _list(nested, description: str) -> fields.List:
    return fields.List(fields.Nested(nested), validate=validate.Length(max=service.MAX_ROWS),
                       metadata={"description": description})


class DetailsInMixin(ma.Schema):
    """Detail fields a client may send; each one sent replaces what the contact has."""

    emails = _list(LabeledValueSchema, "Other email addresses (the primary one is `email`).")
    phones = _list(LabeledValueSchema, "Other phone numbers, parsed to E.164 (the primary one is `phone`).")
    urls = _list(LabeledValueSchema, "Web addresses; https:// is added when no scheme is given.")
    addresses = _list(AddressSchema, "Postal addresses.")
    title = _text("Job title.", "Countess", 200)
    birthday = fields.Date(allow_none=True, metadata={"description": "Birthday (YYYY-MM-DD), or null.",
                                                      "example": "1815-12-10"})
    notes = _text("Notes (plain text).", "Met at the 1843 fair.", 10000)


class _WithDetails:
    """A contact with its details as attributes, for dumping."""

    def __init__(self, contact):
        self._contact = contact
        self._details = service.details(contact)

    def __getattr__(self, name):
        if name in self._details:
            return self._details[name]
        return getattr(self._contact, name)


class DetailsOutMixin(ma.Schema):
    emails = fields.List(fields.Nested(LabeledValueSchema), metadata={"description": "Other email addresses."})
    phones = fields.List(fields.Nested(LabeledValueSchema), metadata={"description": "Other phone numbers."})
    urls = fields.List(fields.Nested(LabeledValueSchema), metadata={"description": "Web addresses."})
    addresses = fields.List(fields.Nested(AddressSchema), metadata={"description": "Postal addresses."})
    title = fields.String(metadata={"description": "Job title.", "example": "Countess"})
    birthday = fields.Date(allow_none=True, metadata={"description": "Birthday, or null.", "example": "1815-12-10"})
    notes = fields.String(metadata={"description": "Notes (plain text).", "example": "Met at the 1843 fair."})
    has_photo = fields.Boolean(dump_only=True, metadata={
        "description": "Whether the contact has a photo (GET /contacts/{id}/photo).", "example": False})

    @ma.pre_dump
    def _with_details(self, contact, **kwargs):
        return contact if isinstance(contact, (dict, _WithDetails)) else _WithDetails(contact)

    def get_attribute(self, obj, attr, default):
        """A plain attribute of the wrapped contact: marshmallow's own lookup first asks whether it
        has ``__getitem__`` (an AttributeError raised and caught per field: a quarter of a dump)."""
        if type(obj) is _WithDetails:
            return getattr(obj, attr, default)
        return super().get_attribute(obj, attr, default)
