"""The core's models. Plugins add their own tables; they never alter these."""

from .accounts import ROLES, ApiToken, Team, User, team_members
from .audit import AuditEntry
from .base import MAX_ID, TimestampMixin, parse_id, utcnow
from .contact_data import (
    ContactPreference,
    ContactStatusChange,
    ContactTemplate,
    CustomField,
    CustomFieldValue,
)
from .contacts import Contact, Organization
from .details import ContactAddress, ContactDetails, ContactPhoto, ContactValue
from .imports import ContactExternalId
from .jobs import Job, JobProblem
from .merges import DuplicatePair, Merge
from .relations import Relationship, RelationshipType
from .stamps import CacheStamp
from .taxonomy import Category, ContactGroup, ContactTag, GroupMember, Tag
from .views import SavedView
from .vocabulary import ContactStatus, ContactType

__all__ = [
    "MAX_ID", "ROLES", "ApiToken", "AuditEntry", "CacheStamp", "Category", "Contact", "ContactAddress", "ContactDetails",
    "ContactExternalId", "ContactGroup", "ContactPhoto", "ContactPreference", "ContactStatusChange", "ContactTag",
    "ContactTemplate", "ContactValue", "CustomField", "CustomFieldValue", "ContactStatus", "ContactType",
    "DuplicatePair", "GroupMember", "Job", "JobProblem", "Merge", "Organization", "Relationship", "RelationshipType", "SavedView",
    "Tag",
    "Team", "TimestampMixin", "User", "parse_id", "team_members", "utcnow",
]
