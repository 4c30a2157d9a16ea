"""The contacts list's filter builder: conditions (field, operator, value) in OR-ed groups of
AND-ed conditions — ``(a AND b) OR (c AND d)``, one level of groups.

In the URL each condition is one ``f`` parameter, ``field.operator.value``, and ``f=or`` starts the
next group: ``?f=status.is.active&f=email.words.acme.com&f=or&f=created.last.30``. The value is
everything after the second dot (field keys may hold dots: the longest known key wins).

Fields: the core's (name, email, phone, organization, type, status, team, created, updated) and
every ``SearchFilter`` of the ``contacts_search_filters`` hook. Each condition becomes one plain
WHERE clause on ``contacts`` (a column comparison, a prefix range the indexes serve, a search-index
lookup for name/email words and phone digits (word_filters.py), or an ``IN (subquery)``), so keyset
pagination and the list's indexes keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, false, not_, or_, select, true

from ..errors import ValidationError
from ..extensions import db
from ..models import Contact, Organization, Team, utcnow
from ..plugins import collect, hook
from ..policy import visible_team_ids
from . import vocabulary, word_filters
from .fields import normalize_phone
from .records import escape_like, int_or_none

OPERATORS = {
    "is": "is",
    "isnot": "is not",
    "contains": "contains",
    "words": "has words starting with",
    "starts": "starts with",
    "empty": "is empty",
    "notempty": "is not empty",
    "before": "before",
    "after": "after",
    "last": "in the last N days",
}
NO_VALUE = frozenset({"empty", "notempty"})
OR = "or"
MAX_CONDITIONS = 20
MAX_GROUPS = 5
MAX_VALUE = 200
MAX_DAYS = 36500
PARAM = "f"


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str  # text, choice, date, number
    operators: tuple[str, ...]
    clause: Callable  # (actor, op, value) -> SQL condition on Contact
    options: Callable | None = None  # (user) -> [(value, label)] for is / is not
    op_labels: tuple[tuple[str, str], ...] = ()  # an operator read differently on this field

    def op_label(self, op: str) -> str:
        return dict(self.op_labels).get(op) or OPERATORS.get(op, op)


@dataclass
class Condition:
    field: str
    op: str
    value: str = ""
    group: int = 0
    error: str = ""

    def arg(self) -> str:
        return f"{self.field}.{self.op}.{self.value}" if self.op not in NO_VALUE else f"{self.field}.{self.op}"


@dataclass
class Filter:
    conditions: list[Condition] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.conditions)

    @property
    def groups(self) -> list[list[Condition]]:
        found: dict[int, list[Condition]] = {}
        for c in self.conditions:
            found.setdefault(c.group, []).append(c)
        return [found[k] for k in sorted(found)]

    def args(self) -> list[str]:
        """The ``f`` parameters, canonical (groups renumbered, empty ones left out)."""
        out: list[str] = []
        for i, group in enumerate(self.groups):
            if i:
                out.append(OR)
            out.extend(c.arg() for c in group)
        return out

    def clause(self, actor, fields: dict[str, Field] | None = None):
        """The WHERE clause; raises ValidationError({"f": ...}) when a value is refused."""
        fields = fields if fields is not None else available_fields()
        ors = []
        for group in self.groups:
            ands = []
            for c in group:
                try:
                    ands.append(fields[c.field].clause(actor, c.op, c.value))
                except ValidationError as exc:
                    raise ValidationError({PARAM: f"{fields[c.field].label}: {_first(exc)}"}) from None
            ors.append(and_(*ands))
        return ors[0] if len(ors) == 1 else or_(*ors)

    def by_hits(self) -> bool:
        """One group (no OR) holding a condition with few index hits (word_filters.by_hits): the
        list reads those by id and sorts them instead of walking its sort index."""
        groups = self.groups
        return len(groups) == 1 and any(word_filters.by_hits(c.field, c.op, c.value) for c in groups[0])

    def apply(self, actor, fields=None):
        """An ``extra_filters`` callable for ``contacts.list_contacts`` (the clause is built now);
        its ``by_hits`` attribute tells ``contacts_statement`` how to read the rows."""
        where = self.clause(actor, fields)

        def apply(stmt):
            return stmt.where(where)

        apply.by_hits = self.by_hits()
        return apply


def _first(exc: ValidationError) -> str:
    for messages in exc.errors.values():
        return messages[0] if isinstance(messages, list) else str(messages)
    return exc.message or "Not a valid value."


# --- parsing -------------------------------------------------------------------------------------


def _split(arg: str, fields: dict[str, Field]) -> Condition:
    key = max((k for k in fields if arg.startswith(k + ".")), key=len, default=None)
    if key is None:
        name = arg.split(".", 1)[0]
        raise ValidationError({PARAM: f"Unknown filter field {name[:50]!r}."})
    op, _, value = arg[len(key) + 1:].partition(".")
    if op == "contains" and key in WORDS_FOR_CONTAINS:
        op = "words"
    return Condition(key, op, value)


def check(c: Condition, fields: dict[str, Field]) -> str:
    """Why ``c`` is not a valid condition (the shape only; values are checked by the clauses), or ""."""
    f = fields.get(c.field)
    if f is None:
        return "Choose a field."
    if c.op not in f.operators:
        return f"{f.label} cannot be filtered with {OPERATORS.get(c.op, c.op)!r}; choose one of: " + ", ".join(
            f.op_label(o) for o in f.operators
        ) + "."
    if c.op in NO_VALUE:
        c.value = ""
        return ""
    c.value = c.value.strip()
    if not c.value:
        return f"{f.label}: give a value."
    if len(c.value) > MAX_VALUE or "\x00" in c.value:
        return f"{f.label}: the value is too long."
    return ""


def parse(args: list[str], fields: dict[str, Field] | None = None) -> Filter:
    """The filter of the ``f`` parameters; raises ValidationError({"f": message})."""
    fields = fields if fields is not None else available_fields()
    conditions: list[Condition] = []
    group = 0
    for arg in args:
        if arg == "":
            continue
        if arg == OR:
            group += 1 if any(c.group == group for c in conditions) else 0
            continue
        c = _split(arg, fields)
        c.group = group
        problem = check(c, fields)
        if problem:
            raise ValidationError({PARAM: problem})
        conditions.append(c)
    _limits(conditions)
    return Filter(conditions)


def _limits(conditions: list[Condition]) -> None:
    if len(conditions) > MAX_CONDITIONS:
        raise ValidationError({PARAM: f"At most {MAX_CONDITIONS} conditions."})
    if len({c.group for c in conditions}) > MAX_GROUPS:
        raise ValidationError({PARAM: f"At most {MAX_GROUPS} OR groups."})


ROW_PARTS = ("field", "op", "value", "group")


def from_rows(values, fields: dict[str, Field] | None = None) -> tuple[list[Condition], bool]:
    """The builder's rows (``r<i>_field``, ``r<i>_op``, ``r<i>_value``, ``r<i>_group`` in a form) as
    conditions, each with its ``error``; and whether all are valid. Rows without a field are dropped."""
    fields = fields if fields is not None else available_fields()
    rows = []
    for i in range(MAX_CONDITIONS * 2):
        key = values.get(f"r{i}_field", "")
        if not key:
            continue
        group = values.get(f"r{i}_group", "0")
        c = Condition(key, values.get(f"r{i}_op", ""), values.get(f"r{i}_value", "")[:MAX_VALUE * 2],
                      int(group) if group.isdecimal() and int(group) < 100 else 0)
        if not c.op and key in fields:
            c.op = fields[key].operators[0]
        c.error = check(c, fields)
        rows.append(c)
    return rows, not any(c.error for c in rows)


def validate(filter_: Filter, actor, fields: dict[str, Field] | None = None) -> bool:
    """Build each condition's clause alone, noting its error on it; True when all are good."""
    fields = fields if fields is not None else available_fields()
    ok = True
    for c in filter_.conditions:
        if c.error:
            ok = False
            continue
        try:
            fields[c.field].clause(actor, c.op, c.value)
        except ValidationError as exc:
            c.error, ok = f"{fields[c.field].label}: {_first(exc)}", False
    if len(filter_.conditions) > MAX_CONDITIONS or len({c.group for c in filter_.conditions}) > MAX_GROUPS:
        ok = False
    return ok


# --- the fields ----------------------------------------------------------------------------------

TEXT_OPS = ("contains", "starts", "is", "isnot", "empty", "notempty")
WORD_OPS = ("words", "starts", "is", "isnot", "empty", "notempty")  # name, email: word_filters.py
WORDS_FOR_CONTAINS = ("name", "email")  # "contains" in an older link means "words" there
CHOICE_OPS = ("is", "isnot")
DATE_OPS = ("last", "before", "after")


def _prefix(column, value: str):
    """``column`` starts with ``value``: a range the column's index serves, and a LIKE that keeps
    it exact whatever the collation."""
    return and_(column >= value, column < value + "\U0010ffff", column.like(escape_like(value) + "%", escape="\\"))


def _contains(column, value: str):
    return column.like("%" + escape_like(value) + "%", escape="\\")


def _null_or_ne(column, value):
    return or_(column.is_(None), column != value)


def _name(actor, op, value):
    if op == "words":
        return word_filters.words_condition("name", value)
    return _prefix(Contact.sort_name, " ".join(value.lower().split()))


def _email(actor, op, value):
    col = Contact.email_key
    value = value.lower()
    return {
        "is": lambda: col == value,
        "isnot": lambda: _null_or_ne(col, value),
        "words": lambda: word_filters.words_condition("email", value),
        "starts": lambda: _prefix(col, value),
        "empty": lambda: col.is_(None),
        "notempty": lambda: col.is_not(None),
    }[op]()


def _phone(actor, op, value):
    col = Contact.phone
    if op in ("empty", "notempty"):
        return col == "" if op == "empty" else col != ""
    if op in ("is", "isnot"):
        try:
            number = normalize_phone(value)
        except ValueError as exc:
            raise ValidationError({"phone": str(exc)}) from None
        return col == number if op == "is" else col != number
    digits = "".join(ch for ch in value if ch.isdigit() and ch.isascii())
    if not digits:
        raise ValidationError({"phone": "Give some digits."})
    return word_filters.phone_contains(digits) if op == "contains" else _prefix(col, "+" + digits)


def _visible_org(actor, value) -> int:
    errors: dict = {}
    org_id = int_or_none(value, "organization", errors)
    org = db.session.get(Organization, org_id) if org_id else None
    teams = visible_team_ids(actor)
    if org is None or org.deleted_at is not None or (teams is not None and org.owner_team_id not in teams):
        raise ValidationError({"organization": "No such organization."})
    return org.id


def _organization(actor, op, value):
    col = Contact.organization_id
    if op == "empty":
        return col.is_(None)
    if op == "notempty":
        return col.is_not(None)
    if op in ("is", "isnot"):
        org_id = _visible_org(actor, value)
        return col == org_id if op == "is" else _null_or_ne(col, org_id)
    match = (_contains if op == "contains" else _prefix)(Organization.name_key, value.lower())
    return col.in_(select(Organization.id).where(match, Organization.deleted_at.is_(None)))


def _organization_options(user):
    from . import organizations

    return [(str(o.id), o.name) for o in organizations.list_organizations(user, limit=200).items]


def _vocabulary(kind: str):
    def clause(actor, op, value):
        keys = [k for k, _ in vocabulary.terms(kind)]
        # A retired term still names the contacts that keep it (read only when the value is not active).
        if value not in keys and value not in {t.key for t in vocabulary.all_terms(kind)}:
            raise ValidationError({kind: f"Choose one of: {', '.join(keys)}."})
        col = getattr(Contact, kind)
        return col == value if op == "is" else col != value

    return clause


def _team_options(user):
    teams = visible_team_ids(user)
    stmt = select(Team.id, Team.name).order_by(Team.name)
    if teams is not None:
        stmt = stmt.where(Team.id.in_(teams or [-1]))
    return [(str(i), n) for i, n in db.session.execute(stmt)]


def _team(actor, op, value):
    errors: dict = {}
    team_id = int_or_none(value, "team", errors)
    teams = visible_team_ids(actor)
    if team_id is None or (teams is not None and team_id not in teams) or db.session.get(Team, team_id) is None:
        raise ValidationError({"team": "Choose one of your teams."})
    return Contact.owner_team_id == team_id if op == "is" else Contact.owner_team_id != team_id


def _date(column):
    def clause(actor, op, value):
        if op == "last":
            if not value.isdecimal() or not 0 < int(value) <= MAX_DAYS:
                raise ValidationError({"days": "Give a number of days (1 or more)."})
            return column >= utcnow() - timedelta(days=int(value))
        try:
            day = datetime.strptime(value, "%Y-%m-%d")
            return column < day if op == "before" else column >= day + timedelta(days=1)
        except (ValueError, OverflowError):
            raise ValidationError({"date": "Give a date as YYYY-MM-DD."}) from None

    return clause


CORE_FIELDS = (
    Field("name", "Name", "text", ("words", "starts"), _name,
          op_labels=(("starts", "starts with (last name first)"),)),  # a prefix of the sort name
    Field("email", "Email", "text", WORD_OPS, _email),
    Field("phone", "Phone", "text", TEXT_OPS, _phone),
    Field("organization", "Organization", "choice", ("is", "isnot", "contains", "starts", "empty", "notempty"),
          _organization, _organization_options),
    Field("type", "Type", "choice", CHOICE_OPS, _vocabulary("type"), lambda user: vocabulary.terms("type")),
    Field("status", "Status", "choice", CHOICE_OPS, _vocabulary("status"), lambda user: vocabulary.terms("status")),
    Field("team", "Owner team", "choice", CHOICE_OPS, _team, _team_options),
    Field("created", "Created", "date", DATE_OPS, _date(Contact.created_at)),
    Field("updated", "Updated", "date", DATE_OPS, _date(Contact.updated_at)),
)


def plugin_field(f) -> Field:
    """A builder field for a ``core.ui.SearchFilter``."""
    condition = getattr(f, "condition", None)
    operators = tuple(o for o in getattr(f, "operators", ("is",)) if o in OPERATORS) or ("is",)

    def clause(actor, op, value):
        if condition is not None:
            return condition(op, value)
        base = select(Contact.id)
        narrowed = f.apply(base, value)
        if narrowed is base or narrowed.whereclause is None:
            return true() if op == "is" else false()
        froms = narrowed.get_final_froms()
        where = narrowed.whereclause if froms == [Contact.__table__] else Contact.id.in_(narrowed)
        return where if op == "is" else not_(where)

    return Field(f.key, f.label, getattr(f, "kind", "choice") or "choice", operators, clause, f.options)


_last_fields: tuple = (None, None)  # (the search_filters list, its fields): see available_fields


def available_fields(search_filters=None) -> dict[str, Field]:
    """The core fields, then the plugins' filters in label order (a plugin cannot shadow a core key).
    ``search_filters``: the ``contacts_search_filters`` answers when the caller has them already.
    For the very list asked for last (``list_query.plugin_filters`` keeps one per shared version),
    the fields made then: a page asks twice or more. Read them, do not change them."""
    global _last_fields
    if search_filters is not None and _last_fields[0] is search_filters:
        return _last_fields[1]
    found = {f.key: f for f in CORE_FIELDS}
    for f in sorted(search_filters if search_filters is not None else collect(hook().contacts_search_filters()),
                    key=lambda f: f.label):
        found.setdefault(f.key, plugin_field(f))
    if search_filters is not None:
        _last_fields = (search_filters, found)
    return found
