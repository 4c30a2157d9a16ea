"""Plain data that UI hooks return; the core renders it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    order: int = 50
    endpoint_prefix: str = ""  # marks the item active when request.endpoint starts with it


@dataclass(frozen=True)
class Panel:
    """A contact-page panel or dashboard widget whose body is the HTML fragment at ``url``. By default
    it loads lazily (``hx-get`` once the page is shown); on the contact page ``inline=True`` renders it
    into the page by calling the view behind ``url`` in the page's own request (core/views/panels.py):
    for cheap panels, where a request of its own costs more than the panel."""

    key: str
    title: str
    url: str
    order: int = 50
    inline: bool = False


@dataclass(frozen=True)
class Action:
    label: str
    url: str
    method: str = "get"  # get opens a fragment into the modal; post runs it


@dataclass(frozen=True)
class SearchFilter:
    """A filter on the contacts list (and a field of its filter builder).

    ``apply(stmt, value)`` narrows a contacts ``select`` (the "is" operator). Optional, for the
    builder: ``kind`` ("choice": a select of ``options``; "text", "number" or "date": an input),
    ``operators`` it offers (keys of ``core.services.filters.OPERATORS``), and ``condition(op,
    value)`` returning a WHERE clause on ``Contact`` for any of them (raise
    ``ValidationError({key: message})`` for a bad value). Without ``condition``, "is" uses
    ``apply`` and "isnot" its negation."""

    key: str
    label: str
    apply: Callable[[Any, str], Any]
    options: Callable[[Any], list[tuple[str, str]]] = field(default=lambda user: [])
    kind: str = "choice"
    operators: tuple[str, ...] = ("is",)
    condition: Callable[[str, str], Any] | None = None


@dataclass(frozen=True)
class BulkField:
    """One input a bulk action asks for: a select of ``options(user)`` or a text input."""

    name: str
    label: str
    options: Callable[[Any], list[tuple[str, str]]] | None = None
    required: bool = True


@dataclass(frozen=True)
class BulkAction:
    """An action on many contacts (see the ``contacts_bulk_actions`` hook).

    ``apply(actor, contact_ids, params) -> (changed, skipped)`` runs inside the caller's
    transaction on at most a batch of ids the actor may edit (the core has checked each one; check
    your own objects, e.g. the list); ``params`` holds the ``fields`` values as strings. Raise
    ``ValidationError({field: message})`` for bad params. ``permission``: the per-record action
    the core checks first ("contact.edit", or "contact.delete")."""

    key: str
    label: str
    apply: Callable[[Any, list[int], dict], tuple[int, int]]
    fields: tuple[BulkField, ...] = ()
    permission: str = "contact.edit"
    confirm: str = ""  # a question to confirm before running, e.g. for deletes
    order: int = 50
    # False: a retired action, no longer offered; it only runs the bulk jobs queued before an
    # upgrade replaced it (e.g. planning's "list_add", now a group add).
    offered: bool = True


@dataclass(frozen=True)
class PreferenceStore:
    """Where a plugin keeps some of its preference fields itself (its own table and rules) instead
    of the core's key/value rows. ``read(contact_id)`` returns ``{key: text}`` for its keys (a
    missing or empty value is unset). ``write(actor, contact_id, values)`` gets ``{key: text}``
    for every one of its keys (the new value where one was given, else the current one; "" =
    clear), runs inside the core's transaction after each field's own check, audits its own
    changes and raises ``core.errors.ValidationError`` keyed by field key for rules that span
    fields (the whole save is then rolled back)."""

    read: Callable[[int], dict[str, str]]
    write: Callable[[Any, int, dict[str, str]], None]


@dataclass(frozen=True)
class PreferenceField:
    """A per-contact preference (``contacts_preference_fields``). ``options()`` returns
    ``(value, label)`` pairs for a choice, or leave it None for free text; ``clean(text)`` returns
    the normalized value or raises ValueError with a message. Values are text, at most 200 chars.
    ``store`` keeps the value in the plugin's own table (see ``PreferenceStore``); without one
    the core stores it."""

    key: str
    label: str
    options: Callable[[], list[tuple[str, str]]] | None = None
    clean: Callable[[str], str] | None = None
    hint: str = ""
    order: int = 50
    store: PreferenceStore | None = None
