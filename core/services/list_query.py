"""What the contacts list is asked for, read once from a query string (the page, the lazy count,
bulk actions, saved views and the API share it): the search, the toolbar's selects, the plugins'
filters and the filter builder's conditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from werkzeug.datastructures import MultiDict

from ..errors import ValidationError
from ..models import parse_id
from ..plugins import collect, hook, implementations
from . import filters, stamps

MAX_Q = 200


def plugin_filters() -> list:
    """The plugins' list filters (``SearchFilter``s, frozen), by label: what they are depends on the
    plugins and on shared rows only (custom fields), so kept in the process under the shared version
    (stamps.local): the hook and the custom fields' definitions are not asked again on every page."""
    relay = hook().contacts_search_filters
    return stamps.local("plugin-filters", implementations(relay),
                        make=lambda: sorted(collect(relay()), key=lambda f: f.label))


@dataclass
class ListQuery:
    q: str = ""
    status: str = ""
    type: str = ""
    organization_id: int | None = None
    filter: filters.Filter = field(default_factory=filters.Filter)
    extra: dict = field(default_factory=dict)  # plugin filter key -> value (the toolbar's selects)
    # the plugins' filters it was read with (``plugin_filters()``), asked once a request instead of per use
    search_filters: list | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_args(cls, args, *, rows: list | None = None, search_filters: list | None = None) -> ListQuery:
        """Read ``args`` (a MultiDict, or a dict of str); raise ValidationError naming the parameter.
        ``rows``: the filter builder's conditions, used instead of the ``f`` parameters.
        ``search_filters``: ``plugin_filters()`` when the caller has them already."""
        if not isinstance(args, MultiDict):
            args = MultiDict(args)
        errors: dict = {}
        query = cls(
            q=(args.get("q") or "").strip()[:MAX_Q],
            status=args.get("status") or "",
            type=args.get("type") or "",
            search_filters=search_filters if search_filters is not None else plugin_filters(),
        )
        raw_org = (args.get("organization_id") or "").strip()
        if raw_org:
            query.organization_id = parse_id(raw_org)
            if query.organization_id is None:
                errors["organization_id"] = "Choose an organization from the list."
        for f in query.search_filters:
            if args.get(f.key):
                query.extra[f.key] = args.get(f.key)
        if rows is not None:
            query.filter = filters.Filter([c for c in rows if c.field])
        else:
            try:
                wanted = args.getlist(filters.PARAM)
                query.filter = filters.parse(wanted, query.fields()) if any(wanted) else filters.Filter()
            except ValidationError as exc:
                errors.update(exc.errors)
        if errors:
            raise ValidationError(errors)
        return query

    @classmethod
    def from_string(cls, raw: str) -> ListQuery:
        return cls.from_args(MultiDict(parse_qsl((raw or "").lstrip("?"))))

    def fields(self) -> dict:
        """The filter builder's fields (``filters.available_fields``) with this query's plugin filters."""
        return filters.available_fields(self.search_filters if self.search_filters is not None else plugin_filters())

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.status or self.type or self.organization_id or self.extra or self.filter)

    def pairs(self) -> list[tuple[str, str]]:
        """The canonical query parameters (empty ones left out)."""
        out = [(k, v) for k, v in (("q", self.q), ("status", self.status), ("type", self.type)) if v]
        if self.organization_id:
            out.append(("organization_id", str(self.organization_id)))
        out.extend(sorted(self.extra.items()))
        out.extend((filters.PARAM, a) for a in self.filter.args())
        return out

    def args(self) -> dict:
        """For ``url_for``: lists for repeated parameters."""
        out: dict = {}
        for k, v in self.pairs():
            out.setdefault(k, []).append(v)
        return {k: v[0] if len(v) == 1 and k != filters.PARAM else v for k, v in out.items()}

    def string(self) -> str:
        return urlencode(self.pairs())

    def statement_kwargs(self, actor) -> dict:
        """Keyword arguments for ``contacts.list_contacts`` / ``contacts_statement``."""
        extra = []
        by_key = {f.key: f for f in (self.search_filters if self.search_filters is not None else plugin_filters())}
        for key, value in self.extra.items():
            f = by_key.get(key)
            if f is not None:
                extra.append(lambda stmt, f=f, value=value: f.apply(stmt, value))
        if self.filter:
            extra.append(self.filter.apply(actor, self.fields()))
        return {
            "q": self.q, "status": self.status, "type": self.type,
            "organization_id": self.organization_id, "extra_filters": extra,
        }


COUNT_CAP = 1000  # "1,000+": counting further would read every match at a million contacts


def count(actor, query: ListQuery, cap: int = COUNT_CAP, *, similar: bool = False) -> tuple[int, bool]:
    """(how many contacts match, whether there are more than ``cap``): reads at most cap + 1 ids.
    ``similar``: count the similar names the list shows instead (core/services/similar_search.py)."""
    from sqlalchemy import func, select

    from ..extensions import db
    from ..models import Contact
    from .contacts import contacts_statement
    from .word_filters import all_hits

    with all_hits():
        kwargs = query.statement_kwargs(actor)
    stmt = contacts_statement(actor, columns=(Contact.id,), similar=similar, **kwargs).limit(cap + 1)
    found = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    return min(found, cap), found > cap


def count_shown(actor, query: ListQuery, cap: int = COUNT_CAP) -> tuple[int, bool, bool]:
    """The list page's count: (found, more than ``cap``, similar). When the search finds nothing and
    the page shows similar names instead (the same rule as ``list_contacts(similar_names=True)``),
    this counts those, with ``similar`` True: the page then says "N similar names", and offers no
    "select all N matching" (a bulk action on "all matching" acts on exact matches only)."""
    from . import similar_search

    found, more = count(actor, query, cap)
    if not found and similar_search.wanted(actor, query.statement_kwargs(actor)):
        alike, more = count(actor, query, cap, similar=True)
        if alike:
            return alike, more, True
    return found, more, False
