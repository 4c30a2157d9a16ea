"""Admin-editable vocabularies: contact types and statuses."""

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class _Term:
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    label: Mapped[str] = mapped_column(String(100), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ContactType(_Term, db.Model):
    __tablename__ = "contact_types"


class ContactStatus(_Term, db.Model):
    __tablename__ = "contact_statuses"


DEFAULT_TYPES = [("person", "Person"), ("customer", "Customer"), ("supplier", "Supplier"), ("partner", "Partner")]
DEFAULT_STATUSES = [("lead", "Lead"), ("active", "Active"), ("inactive", "Inactive")]
