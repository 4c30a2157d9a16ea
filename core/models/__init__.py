"""The core's models. Plugins add their own tables; they never alter these."""

from .accounts import ROLES, ApiToken, Team, User, team_members
from .audit import AuditEntry
from .base import MAX_ID, TimestampMixin, utcnow
from .contacts import Contact, Organization
from .imports import ContactExternalId
from .jobs import Job
from .vocabulary import ContactStatus, ContactType

__all__ = [
    "MAX_ID", "ROLES", "ApiToken", "AuditEntry", "Contact", "ContactExternalId", "ContactStatus", "ContactType", "Job", "Organization",
    "Team", "TimestampMixin", "User", "team_members", "utcnow",
]
