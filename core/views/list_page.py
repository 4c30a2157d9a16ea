"""What the contacts list page shows beside its rows: the chosen columns, the filter builder, the
saved views, the lazy count and the bulk-action bar (template context for core/contacts/index.html)."""

from __future__ import annotations

from flask import url_for

from ..extensions import db
from ..models import Team
from ..policy import can
from ..services import bulk, list_choices, saved_views
from .list_state import ListState, builder_context


def context(user, state: ListState, *, full_page: bool, more: bool, search_filters=()) -> dict:
    """``search_filters``: the plugins' list filters (the toolbar's selects, the builder's fields):
    their choices are read from the cache (core/services/list_choices.py) when the page shows them."""
    columns = state.columns
    out = {
        "state": state,
        "columns": columns,
        "column_labels": dict(saved_views.LIST_COLUMNS),
        "filter_args": state.query.filter.args(),
        "filter_error": state.filter_error,
        "count_url": state.count_url(),
        "list_query": state.query.string(),
        "current_view": state.view,
        # Fragments (not "load more") bring the builder, the filter's hidden inputs and the count along, out of band.
        "oob_parts": not full_page and not more,
        "may_bulk": can(user, "contact.create") or user.role == "admin",
    }
    choices = None
    if full_page:  # the toolbar's selects and the views menu
        menus = list_choices.menus(user, search_filters)
        choices = out["filter_choices"] = menus.filter_choices
        out["saved_views"] = menus.views
    if full_page or not more:  # "load more" pages bring rows only
        out.update(builder_context(state.rows, user, choices, state.query.fields()))
    if "team" in columns:
        out["team_labels"] = dict(db.session.execute(db.select(Team.id, Team.name)).all())
    if full_page:
        out["may_change_view"] = state.view is not None and saved_views.may_change(user, state.view)
        out["bulk_actions"] = list(bulk.actions().values())
        out["new_view_url"] = url_for(
            "contact_list.new_view", query=state.query.string(), sort=state.sort, columns=columns
        )
    return out
