"""Note use cases: list, add, edit (with a version check), delete, and re-point after a merge.

Permission follows the contact: whoever may view a contact sees its notes, whoever may edit it
adds notes; a note is edited or deleted by its author or an administrator (``note.edit`` /
``note.delete``, decided in this plugin's ``contacts_permission`` hook).
"""

from __future__ import annotations

import functools

from sqlalchemy import bindparam, select, update

from core.database import after_commit, transaction
from core.errors import Conflict, NotFound, ValidationError
from core.extensions import db
from core.models import utcnow
from core.plugins import hook
from core.policy import can, personal, require
from core.services import audit
from core.services.contacts import get_contact
from core.services.pagination import Page, decode_cursor, encode_cursor

from .models import Note

MAX_BODY = 20_000
MAX_INT = 2**31 - 1  # ids and versions are INTEGER columns


def rule(user, action: str, obj):
    """This plugin's answer in ``contacts_permission`` for ``note.*`` actions (None otherwise)."""
    if not action.startswith("note.") or not isinstance(obj, Note):
        return None
    verb = action.split(".", 1)[1]
    if verb in ("view", "list"):
        return can(user, "contact.view", obj.contact)
    if verb == "create":
        return can(user, "contact.edit", obj.contact)
    if verb in ("edit", "delete"):
        personal()  # the author's answer differs from their teammates'
        mine = getattr(user, "role", None) == "admin" or (obj.author_id is not None and obj.author_id == user.id)
        return mine and can(user, "contact.edit", obj.contact)
    return False


def clean_body(value) -> str:
    """The Markdown source, validated: not empty, at most 20,000 characters, no NUL."""
    text = "" if value is None else str(value)
    if "\x00" in text:
        raise ValidationError({"body": "Contains a NUL character."})
    text = text.strip()
    if not text:
        raise ValidationError({"body": "Write something first."})
    if len(text) > MAX_BODY:
        raise ValidationError({"body": f"At most {MAX_BODY:,} characters (got {len(text):,})."})
    return text


def _announce(note: Note, action: str, actor, changes: dict) -> None:
    """Tell other plugins (the activity feed) once the note is committed."""
    note_id, payload = note.id, {"contact_id": (note.contact_id, note.contact_id), **changes}
    after_commit(
        lambda: hook().contacts_record_changed(
            entity_type="note", entity_id=note_id, action=action, actor=actor, changes=payload
        )
    )


@functools.cache
def _notes_query():
    """A page of a contact's live notes up to an id, newest first: built once (every contact page asks it)."""
    return (select(Note).where(Note.contact_id == bindparam("contact_id"), Note.deleted_at.is_(None),
                               Note.id <= bindparam("upto"))
            .order_by(Note.id.desc()).limit(bindparam("limit")))


def list_notes(actor, contact_id: int, *, cursor: str | None = None, limit: int = 20) -> Page:
    """One page of a contact's notes, newest first (404 if ``actor`` may not view the contact)."""
    get_contact(actor, contact_id)
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    upto = MAX_INT  # the first page: every id (an INTEGER: MAX_INT + 1 is out of range on PostgreSQL)
    if cursor:
        (last_id,) = decode_cursor(cursor, [int])
        if not 0 < last_id <= MAX_INT:
            raise ValidationError({"cursor": "This cursor is not valid; start again from the first page."})
        upto = last_id - 1
    params = {"contact_id": contact_id, "upto": upto, "limit": limit + 1}
    rows = db.session.scalars(_notes_query(), params).unique().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor([rows[-1].id]) if more and rows else None)


def can_write(actor, contact) -> bool:
    return can(actor, "contact.edit", contact)


def get_note(actor, note_id: int) -> Note:
    note = db.session.get(Note, note_id)
    if note is None or note.deleted_at is not None:
        raise NotFound("No such note.")
    get_contact(actor, note.contact_id)  # 404 for contacts of other teams (and in the trash)
    require(actor, "note.view", note)
    return note


def add_note(actor, contact_id: int, body) -> Note:
    contact = get_contact(actor, contact_id)
    require(actor, "contact.edit", contact)
    text = clean_body(body)
    with transaction():
        note = Note(contact_id=contact.id, author_id=getattr(actor, "id", None), body=text)
        note.contact = contact
        require(actor, "note.create", note)
        db.session.add(note)
        db.session.flush()
        audit.record(actor, "created", "note", note.id, {"contact_id": (None, contact.id), "body": (None, text)})
        _announce(note, "created", actor, {"contact_id": (None, contact.id)})
    return note


def _expected(version) -> int:
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise ValidationError({"version": "Missing or not a number; reload the note."}) from None
    if not 0 < number <= MAX_INT:
        raise ValidationError({"version": "Out of range; reload the note."})
    return number


def update_note(actor, note_id: int, body, expected_version) -> Note:
    note = get_note(actor, note_id)
    require(actor, "note.edit", note)
    text = clean_body(body)
    expected = _expected(expected_version)
    with transaction():
        note = db.session.get(Note, note_id, populate_existing=True)
        if note is None or note.deleted_at is not None:
            raise NotFound("No such note.")
        if note.version != expected:
            raise Conflict(
                "Someone else changed this note since you opened it. Review their version, then save again.",
                current=note,
                changes={"body": (text, note.body)} if note.body != text else {},
            )
        if note.body != text:
            before = note.body
            note.body = text
            audit.record(actor, "updated", "note", note.id, {"body": (before, text)})
            _announce(note, "updated", actor, {"body": (before, text)})
    return note


def delete_note(actor, note_id: int) -> Note:
    note = get_note(actor, note_id)
    require(actor, "note.delete", note)
    with transaction():
        note.deleted_at = utcnow()
        audit.record(actor, "deleted", "note", note.id, {"deleted_at": (None, note.deleted_at)})
        _announce(note, "deleted", actor, {})
    return note


def repoint_contact(source_id: int, target_id: int) -> list[int]:
    """After a merge, ``source``'s notes belong to ``target``. Returns the ids of the notes moved."""
    with transaction() as session:
        ids = sorted(session.scalars(select(Note.id).where(Note.contact_id == source_id)).all())
        if ids:
            session.execute(update(Note).where(Note.contact_id == source_id).values(contact_id=target_id))
    return ids


def unrepoint_contact(source_id: int, target_id: int, note_ids) -> int:
    """Undo ``repoint_contact``: the listed notes still on ``target`` go back to ``source``
    (notes deleted or moved elsewhere since are skipped). Returns how many moved back."""
    ids = [int(i) for i in note_ids or []]
    if not ids:
        return 0
    moved = 0
    with transaction() as session:
        for start in range(0, len(ids), 500):  # bounded IN lists
            chunk = ids[start:start + 500]
            moved += session.execute(
                update(Note).where(Note.id.in_(chunk), Note.contact_id == target_id).values(contact_id=source_id)
            ).rowcount or 0
    return moved
