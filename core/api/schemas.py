"""Marshmallow schemas of the REST API: what goes in, what comes out, and the OpenAPI docs.

Input schemas check only shape and type (string, integer, bounds); the rules about values
(email format, phone numbers, vocabularies, teams) live once, in ``core.services``, and come
back as 422 errors naming the field. Unknown fields are an error (``RAISE``), also read-only
ones such as ``id`` or ``version``: a typo never passes silently.
"""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from marshmallow import fields, validate

from ..models import MAX_ID, Contact  # ids are 32-bit on PostgreSQL: a larger one is a 422/404, never a 500
from ..services.custom_fields import values_for as custom_values_for
from ..services.fields import format_phone
from . import contact_json
from .details_schemas import DetailsInMixin, DetailsOutMixin, no_nul

_ID = validate.Range(min=1, max=MAX_ID)


def _id(description: str, example: int = 1, strict: bool = True, **kwargs) -> fields.Integer:
    return fields.Integer(
        strict=strict, validate=_ID, metadata={"description": description, "example": example}, **kwargs
    )


def _text(description: str, example, max_len: int, **kwargs) -> fields.String:
    return fields.String(
        validate=[validate.Length(max=max_len), no_nul],
        metadata={"description": description, "example": example},
        **kwargs,
    )


class UtcDateTime(fields.DateTime):
    """Times are stored as naive UTC; the API says so (RFC 3339 needs an offset)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def _taxonomy():
    from ..services import taxonomy

    return taxonomy


def _unwrapped(contact):
    """The contact itself when the details mixin wrapped it for dumping (its preloaded tags live on it)."""
    return getattr(contact, "_contact", contact)


def _actor():
    from flask_login import current_user

    return current_user._get_current_object()


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    def load(self, data, *, many=None, partial=None, unknown=None):
        """A JSON body of plain text fields only (most API writes: names, an email) checked here as
        its fields would check it (a string, at most so long, no NUL; null where allowed) and given
        back as marshmallow gives it: in the schema's order, the values as they are. Anything else
        (another field, a value those checks refuse) goes through marshmallow, with its messages.
        marshmallow's load of three names was ~180 Python calls of an API create."""
        texts = self.__dict__.get("_plain_texts")
        if texts is None:
            texts = self.__dict__["_plain_texts"] = _plain_texts(self)
        if texts and type(data) is dict and not (self.many if many is None else many):
            for name, value in data.items():
                limit = texts.get(name)
                if limit is None or (value is None and not limit[1]) or (value is not None and (
                        type(value) is not str or len(value) > limit[0] or "\x00" in value)):
                    break
            else:
                return {name: data[name] for name in texts if name in data}
        return super().load(data, many=many, partial=partial, unknown=unknown)


def _plain_texts(schema) -> dict:
    """``{field: (max length, null allowed)}`` of the schema's plain text fields (``_text``'s: a
    ``String`` checked by a maximum length and ``no_nul`` alone, loaded under its own name); none
    when the schema does anything else a plain load must do (hooks, defaults or required fields)."""
    hooks = schema._hooks
    if any(hooks.get(tag) for tag in ("pre_load", "post_load", "validates", "validates_schema")):
        return {}
    found = {}
    for name, field in schema.load_fields.items():
        if field.load_default is not ma.missing or field.required:
            return {}
        checks = field.validators
        if type(field) is fields.String and field.data_key is None and field.attribute is None and \
                len(checks) == 2 and type(checks[0]) is validate.Length and checks[1] is no_nul and \
                checks[0].min is None and checks[0].equal is None and checks[0].max is not None:
            found[name] = (checks[0].max, field.allow_none)
    return found


# --- contacts ------------------------------------------------------------------------------


class ContactSchema(DetailsOutMixin, ma.Schema):
    """A contact as the API returns it."""

    def dump(self, obj, *, many=None):
        """One ``Contact``: its fields as core/api/contact_json.py writes them out (the same JSON, a tenth
        of the calls), then any field a subclass adds; anything else through marshmallow."""
        if (self.many if many is None else many) or type(obj) is not Contact or self.only is not None or \
                self.exclude or self.load_only:
            return super().dump(obj, many=many)
        out = contact_json.fields_of(obj, _actor())
        extra = [(name, f) for name, f in self.dump_fields.items() if name not in out]
        if extra:
            wrapped = self._with_details(obj)
            for name, f in extra:
                value = f.serialize(name, wrapped, accessor=self.get_attribute)
                if value is not ma.missing:
                    out[name if f.data_key is None else f.data_key] = value
        return out

    id = fields.Integer(dump_only=True, metadata={"description": "Identifier.", "example": 42})
    first_name = fields.String(metadata={"description": "First name.", "example": "Ada"})
    last_name = fields.String(metadata={"description": "Last name.", "example": "Lovelace"})
    full_name = fields.String(
        dump_only=True, metadata={"description": "Name as shown in lists.", "example": "Ada Lovelace"}
    )
    email = fields.String(
        allow_none=True, metadata={"description": "Normalized email address; unique.", "example": "ada@example.org"}
    )
    phone = fields.String(metadata={"description": "Phone number in E.164 form, or empty.", "example": "+442079460958"})
    phone_display = fields.Function(
        lambda c: format_phone(c.phone),
        dump_only=True,
        metadata={
            "description": "The phone number formatted for display.",
            "example": "+44 20 7946 0958",
            "type": "string",
        },
    )
    organization_id = fields.Integer(
        allow_none=True, metadata={"description": "The contact's organization.", "example": 7}
    )
    type = fields.String(metadata={"description": "Contact type key (see /contact-types).", "example": "person"})
    status = fields.String(metadata={"description": "Contact status key (see /contact-statuses).", "example": "active"})
    owner_team_id = fields.Integer(metadata={"description": "The team that owns the record.", "example": 1})
    reports_to_id = fields.Integer(
        allow_none=True, metadata={"description": "The contact this one reports to, or null.", "example": 12}
    )
    # Tags, groups and category (core/services/taxonomy.py; lists preload them in two queries a page).
    tags = fields.Function(lambda c: _taxonomy().tag_names(_actor(), _unwrapped(c)), dump_only=True, metadata={
        "description": "Names of the contact's tags.", "example": ["vip"], "type": "array", "items": {"type": "string"}})
    group_ids = fields.Function(lambda c: _taxonomy().group_ids(_actor(), _unwrapped(c)), dump_only=True, metadata={
        "description": "Ids of the groups (that you may see) the contact is in.", "example": [3], "type": "array",
        "items": {"type": "integer"}})
    category_id = fields.Integer(allow_none=True, metadata={"description": "The contact's category.", "example": None})
    version = fields.Integer(
        dump_only=True, metadata={"description": "Increases on every change; the ETag carries it.", "example": 3}
    )
    created_at = UtcDateTime(
        dump_only=True, metadata={"description": "Creation time (UTC).", "example": "2026-01-31T09:30:00+00:00"}
    )
    updated_at = UtcDateTime(
        dump_only=True, metadata={"description": "Last change (UTC).", "example": "2026-02-01T10:00:00+00:00"}
    )
    deleted_at = UtcDateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "When it went to the trash (UTC), else null.", "example": None},
    )
    custom_fields = fields.Function(  # issue 3: see /custom-fields
        custom_values_for,
        dump_only=True,
        metadata={"description": "Custom field values by key (see /custom-fields); unset ones left out.",
                  "example": {"shoe_size": 42, "interests": ["golf"]}, "type": "object"},
    )


class ContactInSchema(DetailsInMixin, StrictSchema):
    """Fields a client may send to create (POST) or change (PATCH) a contact; all optional on PATCH."""

    first_name = _text("First name.", "Ada", 100)
    last_name = _text("Last name.", "Lovelace", 100)
    email = _text(
        "Email address; normalized and unique (case-insensitive). null clears it.",
        "ada@example.org",
        254,
        allow_none=True,
    )
    phone = _text("Phone number; parsed to E.164 with the server's default region.", "+44 20 7946 0958", 40)
    organization_id = _id("An organization the caller can see; null for none.", 7, allow_none=True)
    type = _text("Contact type key (see /contact-types); default: the first type.", "person", 50)
    status = _text("Contact status key (see /contact-statuses); default: the first status.", "active", 50)
    owner_team_id = _id("A team the caller can write to; default: the caller's first team.", 1)
    custom_fields = fields.Dict(  # issue 3: checked by core/services/custom_fields.py (422 names custom.<key>)
        keys=fields.String(validate=validate.Length(max=40)),
        values=fields.Raw(allow_none=True),
        metadata={"description": "Custom field values by key; null or empty clears one. Required fields must be "
                  "set on create.", "example": {"shoe_size": 42}},
    )
    status_reason = _text("Why the status changes (kept in the status history).", "Signed the contract", 500)
    reports_to_id = _id("A contact the caller can see that this one reports to; null for nobody. "
                        "A cycle (reporting to someone who reports to this contact) is refused.", 12, allow_none=True)
    tags = fields.List(_text("A tag name (a new name creates the tag).", "vip", 50), validate=validate.Length(max=100),
                       metadata={"description": "All the contact's tag names (replaces them).", "example": ["vip"]})
    group_ids = fields.List(_id("A group id."), validate=validate.Length(max=500),
                            metadata={"description": "The groups the contact is in (replaces them).", "example": [3]})
    category_id = _id("A category id; null for none.", 2, allow_none=True)


class ContactPatchSchema(ContactInSchema):
    """The fields to change; the rest stay as they are."""


class ContactQuerySchema(StrictSchema):
    q = _text(
        'Search: prefix of "last first" or "first last", of the email, or phone digits.',
        "lovelace",
        200,
        load_default="",
    )
    status = _text("Only this status key.", "active", 50, load_default="")
    type = _text("Only this type key.", "person", 50, load_default="")
    organization_id = _id("Only contacts of this organization.", 7, strict=False, load_default=None)
    tag = _text("Only contacts with this tag (id or name).", "vip", 50, load_default="")
    group = _text("Only contacts in this group (id).", "3", 12, load_default="")
    category = _text("Only contacts in this category or its subcategories (id).", "2", 12, load_default="")
    sort = fields.String(
        load_default="name",
        validate=validate.Regexp(r"^-?(name|created|updated|cf_[a-z][a-z0-9_]{0,39})$"),
        metadata={"description": "Sort order: name, created, updated or cf_<custom field key>; a leading minus "
                  "sorts descending.", "example": "-updated"},
    )
    cursor = _text("The next_cursor of the previous page.", "WyJsb3ZlbGFjZSBhZGEiLDQyXQ", 1000, load_default=None)
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=200),
        metadata={"description": "Page size.", "example": 50},
    )
    deleted = fields.Boolean(
        load_default=False, metadata={"description": "List the trash (deleted records) instead.", "example": False}
    )
    # The filter builder's conditions and saved views (core/api/lists.py reads them).
    f = fields.List(
        _text("A condition.", "status.is.active", 400),
        load_default=list,
        validate=validate.Length(max=40),
        metadata={"description": "Filter conditions `field.operator.value` (e.g. `email.contains.acme`, "
                  "`created.last.30`); `or` starts the next OR group.", "example": ["status.is.active"]},
    )
    view = _id("Apply this saved view's filter and sort (when no other filter or sort is given).", 3,
               strict=False, load_default=None)


class ContactPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ContactSchema), metadata={"description": "One page of contacts."})
    next_cursor = fields.String(
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null on the last page.", "example": None},
    )


# --- organizations -------------------------------------------------------------------------


class OrganizationSchema(ma.Schema):
    id = fields.Integer(dump_only=True, metadata={"description": "Identifier.", "example": 7})
    name = fields.String(metadata={"description": "Name.", "example": "Analytical Engines Ltd"})
    website = fields.String(metadata={"description": "Web address, or empty.", "example": "https://example.org"})
    phone = fields.String(metadata={"description": "Phone number in E.164 form, or empty.", "example": "+442079460958"})
    phone_display = fields.Function(
        lambda o: format_phone(o.phone),
        dump_only=True,
        metadata={
            "description": "The phone number formatted for display.",
            "example": "+44 20 7946 0958",
            "type": "string",
        },
    )
    notes = fields.String(metadata={"description": "Free text.", "example": "Met at the 1843 fair."})
    owner_team_id = fields.Integer(metadata={"description": "The team that owns the record.", "example": 1})
    parent_id = fields.Integer(
        allow_none=True, metadata={"description": "The parent organization, or null.", "example": 3}
    )
    version = fields.Integer(
        dump_only=True, metadata={"description": "Increases on every change; the ETag carries it.", "example": 2}
    )
    created_at = UtcDateTime(
        dump_only=True, metadata={"description": "Creation time (UTC).", "example": "2026-01-31T09:30:00+00:00"}
    )
    updated_at = UtcDateTime(
        dump_only=True, metadata={"description": "Last change (UTC).", "example": "2026-02-01T10:00:00+00:00"}
    )
    deleted_at = UtcDateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "When it went to the trash (UTC), else null.", "example": None},
    )


class OrganizationInSchema(StrictSchema):
    """Fields a client may send to create (POST) or change (PATCH) an organization."""

    name = _text("Name; required on create.", "Analytical Engines Ltd", 200)
    website = _text("Web address; https:// is added when no scheme is given.", "example.org", 300)
    phone = _text("Phone number; parsed to E.164 with the server's default region.", "+44 20 7946 0958", 40)
    notes = _text("Free text.", "Met at the 1843 fair.", 10000)
    owner_team_id = _id("A team the caller can write to; default: the caller's first team.", 1)
    parent_id = _id("The parent organization (one the caller can see); null for none. Cycles are refused.", 3,
                    allow_none=True)


class OrganizationPatchSchema(OrganizationInSchema):
    """The fields to change; the rest stay as they are."""


class OrganizationQuerySchema(StrictSchema):
    q = _text("Prefix of the name.", "analytical", 200, load_default="")
    cursor = _text("The next_cursor of the previous page.", "WyJhbmFseXRpY2FsIiw3XQ", 1000, load_default=None)
    limit = fields.Integer(
        load_default=50, validate=validate.Range(min=1, max=200), metadata={"description": "Page size.", "example": 50}
    )
    deleted = fields.Boolean(
        load_default=False, metadata={"description": "List the trash (deleted records) instead.", "example": False}
    )


class OrganizationPageSchema(ma.Schema):
    items = fields.List(fields.Nested(OrganizationSchema), metadata={"description": "One page of organizations."})
    next_cursor = fields.String(
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null on the last page.", "example": None},
    )


# --- accounts and vocabularies -------------------------------------------------------------


class TeamSchema(ma.Schema):
    id = fields.Integer(metadata={"description": "Team id.", "example": 1})
    name = fields.String(metadata={"description": "Team name.", "example": "Sales"})


class MeSchema(ma.Schema):
    id = fields.Integer(metadata={"description": "User id.", "example": 3})
    email = fields.String(metadata={"description": "Login email.", "example": "ada@example.org"})
    name = fields.String(metadata={"description": "Display name.", "example": "Ada Lovelace"})
    role = fields.String(metadata={"description": "admin, manager, member or viewer.", "example": "member"})
    teams = fields.List(fields.Nested(TeamSchema), metadata={"description": "The user's teams."})


class TermSchema(ma.Schema):
    key = fields.String(metadata={"description": "The value stored on contacts.", "example": "active"})
    label = fields.String(metadata={"description": "The label shown to people.", "example": "Active"})


class TermListSchema(ma.Schema):
    items = fields.List(fields.Nested(TermSchema), metadata={"description": "Active terms in display order."})


# --- errors --------------------------------------------------------------------------------


class ErrorSchema(ma.Schema):
    """Every API error: flask-smorest's shape (``code``, ``status``, ``message``, ``errors``)."""

    def __deepcopy__(self, memo):
        # Never changed once built. flask-smorest deep-copies an operation's documentation at each of
        # its decorators and again per route; the error answers' schemas in it are shared, not copied.
        return self

    code = fields.Integer(metadata={"description": "The HTTP status code.", "example": 422})
    status = fields.String(metadata={"description": "The HTTP status name.", "example": "Unprocessable Entity"})
    message = fields.String(
        metadata={"description": "What went wrong, for people.", "example": "Please correct the highlighted fields."}
    )
    errors = fields.Dict(
        metadata={
            "description": 'Field errors by location, then field: {"json": {"email": ["..."]}}.',
            "example": {"json": {"email": ["The email address is not valid."]}},
        }
    )


class ChangeSchema(ma.Schema):
    yours = fields.Raw(allow_none=True, metadata={"description": "The value you sent."})
    current = fields.Raw(allow_none=True, metadata={"description": "The value stored now."})


class ConflictSchema(ErrorSchema):
    """409 on a stale If-Match: the record as it is now and how it differs from what you sent."""

    current = fields.Dict(metadata={"description": "The current record (same shape as a GET)."})
    changes = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(ChangeSchema),
        metadata={"description": "Fields where your value differs from the stored one."},
    )
