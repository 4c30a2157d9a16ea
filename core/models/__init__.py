"""The core's models. Plugins add their own tables; they never alter these."""

from .accounts import ROLES, ApiToken, Team, User, team_members
from .audit import AuditEntry
from .base import MAX_ID, TimestampMixin, utcnow
from .contacts import Contact, Organization
from .taxonomy import Category, ContactGroup, ContactTag, GroupMember, Tag
from .vocabulary import ContactStatus, ContactType

__all__ = [
    "MAX_ID", "ROLES", "ApiToken", "AuditEntry", "Category", "Contact", "ContactGroup", "ContactTag", "GroupMember",
    "Tag", "ContactStatus", "ContactType", "Organization",
    "Team", "TimestampMixin", "User", "team_members", "utcnow",
]
