"""Duplicates: the look-alikes of a contact being created or imported, and the review queue of
pairs the duplicate scan found (core/services/duplicate_scan.py).

Two contacts look alike when they share the normalized email, the E.164 phone, or have a close
name at the same organization: rapidfuzz ``ratio`` of "first last" (order matters: "John
Williams" is not "William Johnson") minus CONFLICT_PENALTY for each identifier both have and
that differs (two John Smiths at one company with different addresses and phones are two
people), at least NAME_CUTOFF. Only contacts the user may see are named; the queue shows only
pairs whose two contacts the user may both edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from ..database import transaction
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..models import MAX_ID, Contact, DuplicatePair, utcnow
from ..models.merges import DISMISSED, MERGED, OPEN
from ..policy import can, require, visible_team_ids
from . import audit
from .fields import normalize_email, normalize_phone
from .pagination import Page, paginate

NAME_CUTOFF = 85  # ratio: "Jon Smith" ~ "John Smith" (95), "Ann Lee" ~ "Anne Lee" (93)
CONFLICT_PENALTY = 10  # per identifier (email, phone) both contacts have and that differs
NAME_CANDIDATES = 500  # names read per organization and name prefix for the warning
REASON_SCORES = {"email": 95, "phone": 90}
REASON_LABELS = {
    "email": "same email address",
    "phone": "same phone number",
    "name": "similar name at the same organization",
}


@dataclass
class Similar:
    contact: Contact
    reasons: list[str] = field(default_factory=list)
    score: int = 0

    @property
    def why(self) -> str:
        return ", ".join(REASON_LABELS.get(r, r) for r in self.reasons)


def combine(scores: dict[str, int]) -> int:
    """One score for a pair from its reasons: the best one, plus 5 for each further reason."""
    return min(100, max(scores.values()) + 5 * (len(scores) - 1))


def full_name(first: str, last: str) -> str:
    return f"{first or ''} {last or ''}".strip().lower()


def name_score(similarity: float, emails=(None, None), phones=(None, None)) -> int | None:
    """The score of a "close name" from the names' similarity (0-100), lowered for each
    identifier both contacts have and that differs; None below NAME_CUTOFF."""
    score = similarity
    for mine, theirs in (emails, phones):
        if mine and theirs and mine != theirs:
            score -= CONFLICT_PENALTY
    return int(score) if score >= NAME_CUTOFF else None


def _try(normalize, raw):
    raw = str(raw or "").strip()
    if not raw or "\x00" in raw:
        return None
    try:
        return normalize(raw)
    except ValueError:
        return None


def identifiers(values: dict) -> dict[str, str]:
    """What two contacts look alike by (bad values ignored): ``{"email": the normalized address,
    lower-cased (as ``email_key``), "phone": E.164}`` for those ``values`` have (form, CSV or
    cleaned values). ``find_similar`` looks them up among the contacts; the import's preview
    compares the rows of one file by them."""
    out = {}
    email = _try(normalize_email, values.get("email"))
    if email:
        out["email"] = email.lower()
    phone = _try(normalize_phone, values.get("phone"))
    if phone:
        out["phone"] = phone
    return out


def _org_id(raw) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 < value <= MAX_ID else None


def find_similar(actor, values: dict, exclude_id: int | None = None, limit: int = 5) -> list[Similar]:
    """Up to ``limit`` live contacts ``actor`` may see that look like ``values`` (raw form or
    CSV values: first_name, last_name, email, phone, organization_id; bad ones are ignored),
    best first. Three indexed queries at most; the CSV import calls it per row."""
    teams = visible_team_ids(actor)
    found: dict[int, tuple[Contact, dict]] = {}

    def live():
        stmt = select(Contact).where(Contact.deleted_at.is_(None))
        if teams is not None:
            stmt = stmt.where(Contact.owner_team_id.in_(teams or [-1]))
        if exclude_id:
            stmt = stmt.where(Contact.id != exclude_id)
        return stmt

    def note(contact, reason, score):
        found.setdefault(contact.id, (contact, {}))[1][reason] = score

    keys = identifiers(values)
    email, phone = keys.get("email"), keys.get("phone")
    if email:
        for contact in db.session.scalars(live().where(Contact.email_key == email).limit(limit)):
            note(contact, "email", REASON_SCORES["email"])
    if phone:
        for contact in db.session.scalars(live().where(Contact.phone == phone).order_by(Contact.id).limit(limit)):
            note(contact, "phone", REASON_SCORES["phone"])
    org_id = _org_id(values.get("organization_id"))
    first, last = str(values.get("first_name") or "").strip(), str(values.get("last_name") or "").strip()
    name = full_name(first, last)
    if org_id and name:
        # sort_name is "last first": the contacts of the organization whose sort name starts like
        # this one's, a range of ix_contacts_org_name.
        prefix = (last or first).lower()[:2]
        stmt = live().where(
            Contact.organization_id == org_id, Contact.sort_name >= prefix, Contact.sort_name < prefix + "\uffff"
        )
        candidates = db.session.scalars(stmt.limit(NAME_CANDIDATES)).all()
        names = [full_name(c.first_name, c.last_name) for c in candidates]
        from rapidfuzz import fuzz, process  # here, not at start-up: only a create or an edit with an organization

        for _match, similarity, index in process.extract(
            name, names, scorer=fuzz.ratio, score_cutoff=NAME_CUTOFF, limit=None
        ):
            other = candidates[index]
            score = name_score(similarity, (email, other.email_key), (phone, other.phone))
            if score is not None:
                note(other, "name", score)
    ranked = [Similar(c, sorted(s, key=list(REASON_LABELS).index), combine(s)) for c, s in found.values()]
    ranked.sort(key=lambda s: (-s.score, s.contact.id))
    return ranked[:limit]


def email_holder(actor, email: str | None) -> Contact | None:
    """The contact (live or in the trash) holding ``email``, if ``actor`` may see it: the refusal of
    a second contact with the same address links it."""
    key = _try(normalize_email, email)
    if not key:
        return None
    contact = db.session.scalars(select(Contact).where(Contact.email_key == key.lower())).first()
    return contact if contact is not None and can(actor, "contact.view", contact) else None


# --- the review queue -------------------------------------------------------------------------------


def _queue_filter(actor, stmt):
    """Open pairs of two live contacts ``actor`` may both edit."""
    a, b = aliased(Contact), aliased(Contact)
    stmt = stmt.join(a, a.id == DuplicatePair.a_id).join(b, b.id == DuplicatePair.b_id)
    stmt = stmt.where(DuplicatePair.status == OPEN, a.deleted_at.is_(None), b.deleted_at.is_(None))
    if actor.role == "viewer":
        return stmt.where(False)
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(and_(a.owner_team_id.in_(teams or [-1]), b.owner_team_id.in_(teams or [-1])))
    return stmt


def list_pairs(actor, cursor: str | None = None, limit: int = 25) -> Page:
    """One keyset page of the review queue, best score first."""
    require(actor, "contact.list")
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    stmt = _queue_filter(actor, select(DuplicatePair))
    return paginate(
        db.session, stmt, (DuplicatePair.score, DuplicatePair.id), [int, int], cursor, limit, True,
        key_of=lambda p: [p.score, p.id],
    )


def get_pair(actor, pair_id: int) -> DuplicatePair:
    pair = db.session.get(DuplicatePair, pair_id) if 0 < pair_id <= MAX_ID else None
    if pair is None or not (can(actor, "contact.view", pair.a) and can(actor, "contact.view", pair.b)):
        raise NotFound("No such duplicate pair.")
    return pair


def dismiss(actor, pair_id: int) -> DuplicatePair:
    """"Not a duplicate": remembered, so no scan suggests the pair again."""
    with transaction():
        pair = get_pair(actor, pair_id)
        require(actor, "contact.edit", pair.a)
        require(actor, "contact.edit", pair.b)
        if pair.status != OPEN:
            raise ValidationError({"status": f"This pair was already {pair.status}."})
        pair.status, pair.decided_at, pair.decided_by_id = DISMISSED, utcnow(), actor.id
        audit.record(actor, "dismissed", "duplicate_pair", pair.id,
                     {"status": (OPEN, DISMISSED), "contacts": (None, f"{pair.a_id},{pair.b_id}")})
    return pair


def mark_pair(a_id: int, b_id: int, status: str, actor) -> None:
    """Inside a merge or unmerge: the pair of these two contacts, if the scan found it, is merged
    (or open again after an unmerge)."""
    low, high = min(a_id, b_id), max(a_id, b_id)
    pair = db.session.scalars(select(DuplicatePair).where(DuplicatePair.a_id == low, DuplicatePair.b_id == high)).first()
    if pair is not None and pair.status != DISMISSED:
        pair.status = status
        pair.decided_at, pair.decided_by_id = (utcnow(), actor.id) if status == MERGED else (None, None)
