"""The core's models. Plugins add their own tables; they never alter these."""

from .accounts import ROLES, ApiToken, Team, User, team_members
from .audit import AuditEntry
from .base import MAX_ID, TimestampMixin, utcnow
from .contacts import Contact, Organization
from .jobs import Job
from .views import SavedView
from .vocabulary import ContactStatus, ContactType

__all__ = [
    "MAX_ID", "ROLES", "ApiToken", "AuditEntry", "Contact", "ContactStatus", "ContactType", "Job", "Organization",
    "SavedView", "Team", "TimestampMixin", "User", "team_members", "utcnow",
]
