"""The contacts list's state from the query string: the search and filters (``ListQuery``), the
filter builder's rows, the sort, the saved view (``?view=<id>``) and the columns to show.

``?view=3`` alone shows the view's filter, sort and columns; with other list parameters beside it
those win (the page's controls always send the whole state), and the view still gives the columns.
The builder sends its rows (``b=1&r0_field=...``); the answer's ``HX-Push-Url`` is the compact
``f=field.op.value`` form (``canonical_url``), so the address stays short and bookmarkable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from flask import url_for
from werkzeug.datastructures import MultiDict

from ..errors import NotFound, ValidationError
from ..services import contacts as contact_service
from ..services import custom_field_queries, filters, saved_views
from ..services.list_query import ListQuery, plugin_filters

DEFAULT_SORT = "name"
BUILDER_MARK = "b"


@dataclass
class ListState:
    query: ListQuery
    sort: str = DEFAULT_SORT
    view: saved_views.SavedView | None = None
    columns: list[str] = field(default_factory=lambda: list(saved_views.DEFAULT_COLUMNS))
    rows: list[filters.Condition] = field(default_factory=list)
    errors: dict = field(default_factory=dict)
    from_builder: bool = False

    def url_args(self) -> dict:
        """The list's canonical parameters for ``url_for``."""
        args = self.query.args()
        if self.sort != DEFAULT_SORT:
            args["sort"] = self.sort
        if self.view is not None:
            args["view"] = self.view.id
        return args

    def canonical_url(self) -> str:
        return url_for("contacts.index", **self.url_args())

    def count_url(self) -> str:
        return url_for("contact_list.count", **self.query.args())

    @property
    def filter_error(self) -> str:
        """The filter's problem when no condition of the builder shows it beside its own field (the
        builder shows it below its rows then); "" otherwise: a message is shown once."""
        messages = self.errors.get(filters.PARAM)
        if not messages or any(c.error for c in self.rows):
            return ""
        return messages[0] if isinstance(messages, list) else str(messages)

    @property
    def other_errors(self) -> dict:
        """The problems the list shows above its rows: all but the filter's, which the builder shows."""
        return {name: messages for name, messages in self.errors.items() if name != filters.PARAM}


def _list_keys(search_filters) -> set[str]:
    return {"q", "status", "type", "organization_id", "sort", filters.PARAM, BUILDER_MARK} | {
        f.key for f in search_filters
    }


def read(user, args: MultiDict, search_filters: list | None = None) -> ListState:
    """Read the list's state; problems are collected in ``errors`` (field -> [messages]), not raised.
    ``search_filters``: ``plugin_filters()`` when the caller has them already."""
    if search_filters is None:
        search_filters = plugin_filters()
    errors: dict = {}
    view = None
    if args.get("view"):
        try:
            view = saved_views.get_view(user, args.get("view"))
        except NotFound:
            errors["view"] = ["This saved view does not exist, or is not shared with you."]
    base = args
    if view is not None and not (set(args) & _list_keys(search_filters)):
        base = MultiDict(parse_qsl(view.query))
        base["sort"] = view.sort
    sort = base.get("sort") or DEFAULT_SORT
    if sort not in contact_service.SORTS and not custom_field_queries.is_sort(sort):
        from .contacts import SORT_OPTIONS  # the Sort menu's words, not its keys (a rare path: imported here)

        menu = ", ".join(label for _, label in SORT_OPTIONS)
        errors["sort"] = [f"This sort does not exist: pick one from the Sort menu ({menu})."]
        sort = DEFAULT_SORT
    fields = filters.available_fields(search_filters)
    from_builder = BUILDER_MARK in args
    rows = None
    if from_builder:
        rows, ok = filters.from_rows(args, fields)
        if not ok:
            errors[filters.PARAM] = [next(c.error for c in rows if c.error)]
    try:
        query = ListQuery.from_args(base, rows=[c for c in rows if not c.error] if from_builder else None,
                                    search_filters=search_filters)
    except ValidationError as exc:
        errors.update({k: v if isinstance(v, list) else [v] for k, v in exc.errors.items()})
        query = ListQuery(search_filters=search_filters)
    if rows is None:
        rows = [filters.Condition(c.field, c.op, c.value, c.group) for c in query.filter.conditions]
    if filters.PARAM not in errors and query.filter:
        checked = filters.Filter(rows)
        if not filters.validate(checked, user, fields):
            errors[filters.PARAM] = [next((c.error for c in rows if c.error), "Too many conditions.")]
    columns = list(view.columns) if view is not None and view.columns else list(saved_views.DEFAULT_COLUMNS)
    return ListState(query, sort, view, columns, rows, errors, from_builder)


def builder_context(state_rows: list, user, choices: dict | None = None, fields: dict | None = None) -> dict:
    """What the builder template needs: the fields (with their options for "is"), operators and the
    rows grouped (each with its index in the form). ``choices``: the plugin filters' options already
    read (core/services/list_choices.py), used instead of asking them again; ``fields``: the fields,
    when the caller has them."""
    fields = fields if fields is not None else filters.available_fields()
    groups: dict[int, list] = {}
    for i, c in enumerate(state_rows):
        groups.setdefault(c.group, []).append((i, c))
    options = {}
    used = {c.field for c in state_rows}  # options only for the fields in use (each may cost a query)
    for key, f in fields.items():
        if f.options is not None and key in used:
            try:
                found = choices[key] if choices is not None and key in choices else f.options(user)
                options[key] = [(str(k), v) for k, v in found]
            except Exception:  # noqa: BLE001 - a plugin's options must not break the list page
                options[key] = []
    return {
        "builder_fields": fields,
        "builder_options": options,
        "builder_chosen": _chosen(state_rows, options),
        "builder_groups": [groups[k] for k in sorted(groups)],
        "builder_next_group": (max(groups) + 1) if groups else 0,
        "builder_size": len(state_rows),
        "operators": filters.OPERATORS,
        "no_value_ops": filters.NO_VALUE,
    }


def _chosen(rows: list, options: dict) -> dict[int, str]:
    """Per row index, the option to show chosen when the value names an option by its label (a tag's
    name where the options are ids: ``tag.is.gold``, which the filter takes) rather than its key."""
    chosen = {}
    for i, c in enumerate(rows):
        opts = options.get(c.field)
        if not opts or not c.value or any(key == c.value for key, _text in opts):
            continue
        folded = c.value.strip().casefold()
        chosen[i] = next((key for key, text in opts if str(text).casefold() == folded), c.value)
    return chosen


def list_kwargs(user, args) -> dict:
    """``contacts.list_contacts`` keyword arguments (sort and every filter) from a list query string,
    for the exports; a bad parameter raises ValidationError naming it."""
    state = read(user, args)
    if state.errors:
        raise ValidationError(state.errors)
    return {"sort": state.sort, **state.query.statement_kwargs(user)}
