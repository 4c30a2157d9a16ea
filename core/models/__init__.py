"""The core's models. Plugins add their own tables; they never alter these."""

from .accounts import ROLES, ApiToken, Team, User, team_members
from .audit import AuditEntry
from .base import MAX_ID, TimestampMixin, utcnow
from .contacts import Contact, Organization
from .jobs import Job
from .merges import DuplicatePair, Merge
from .vocabulary import ContactStatus, ContactType

__all__ = [
    "MAX_ID", "ROLES", "ApiToken", "AuditEntry", "Contact", "ContactStatus", "ContactType", "DuplicatePair", "Job", "Merge",
    "Organization",
    "Team", "TimestampMixin", "User", "team_members", "utcnow",
]
