"""Version stamps of what pages show: one row per scope ("shared", "contact:<id>"), given a new
random value by every transaction that changes something in that scope (core/services/stamps.py)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class CacheStamp(db.Model):
    __tablename__ = "cache_stamps"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
