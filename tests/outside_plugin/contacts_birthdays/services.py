"""Reading and setting a birthday through the core's permission check, transaction and audit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import extract, select

from core.database import transaction
from core.errors import ValidationError
from core.extensions import db
from core.models import Contact
from core.policy import require
from core.services import audit
from core.services.contacts import get_contact

from .models import Birthday


def get_birthday(actor, contact_id: int) -> Birthday | None:
    get_contact(actor, contact_id)  # 404 unless the actor may see the contact
    return db.session.scalar(select(Birthday).where(Birthday.contact_id == contact_id))


def set_birthday(actor, contact_id: int, raw_day: str, note: str = "") -> Birthday:
    contact = get_contact(actor, contact_id)
    require(actor, "contact.edit", contact)
    try:
        day = date.fromisoformat((raw_day or "").strip())
    except ValueError:
        raise ValidationError({"day": "Enter a date as YYYY-MM-DD."}) from None
    if day > date.today():
        raise ValidationError({"day": "A birthday cannot be in the future."})
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError({"note": "At most 200 characters."})
    with transaction():
        birthday = db.session.scalar(select(Birthday).where(Birthday.contact_id == contact_id))
        before = birthday.day.isoformat() if birthday else None
        if birthday is None:
            birthday = Birthday(contact_id=contact_id, day=day, note=note)
            db.session.add(birthday)
        else:
            birthday.day, birthday.note = day, note
        audit.record(actor, "updated", "birthday", contact_id, {"day": (before, day.isoformat())})
    return birthday


def born_on(day: date) -> list[tuple[Contact, date]]:
    """Live contacts born on ``day``'s month and day, any year (for the CLI and the task)."""
    rows = db.session.execute(
        select(Contact, Birthday.day)
        .join(Birthday, Birthday.contact_id == Contact.id)
        .where(
            Contact.deleted_at.is_(None),
            extract("month", Birthday.day) == day.month,
            extract("day", Birthday.day) == day.day,
        )
        .order_by(Contact.sort_name, Contact.id)
    )
    return [(contact, born) for contact, born in rows]


def count_born_today() -> int:
    return len(born_on(date.today()))
