"""The core's models. Plugins add their own tables; they never alter these."""

from .accounts import ROLES, ApiToken, Team, User, team_members
from .audit import AuditEntry
from .base import MAX_ID, TimestampMixin, utcnow
from .contact_data import (
    ContactPreference,
    ContactStatusChange,
    ContactTemplate,
    CustomField,
    CustomFieldValue,
)
from .contacts import Contact, Organization
from .jobs import Job
from .relations import Relationship, RelationshipType
from .vocabulary import ContactStatus, ContactType

__all__ = [
    "MAX_ID", "ROLES", "ApiToken", "AuditEntry", "Contact", "ContactPreference", "ContactStatusChange",
    "ContactTemplate", "CustomField", "CustomFieldValue", "ContactStatus", "ContactType", "Job", "Organization",
    "Relationship", "RelationshipType",
    "Team", "TimestampMixin", "User", "team_members", "utcnow",
]
