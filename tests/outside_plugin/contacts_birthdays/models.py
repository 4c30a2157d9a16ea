"""One birthday per contact, in a table of the plugin's own (``birthdays_...``)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db


class Birthday(db.Model):
    __tablename__ = "birthdays_dates"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), unique=True, nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
