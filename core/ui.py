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
    key: str
    title: str
    url: str
    order: int = 50


@dataclass(frozen=True)
class Action:
    label: str
    url: str
    method: str = "get"  # get opens a fragment into the modal; post runs it


@dataclass(frozen=True)
class SearchFilter:
    key: str
    label: str
    apply: Callable[[Any, str], Any]
    options: Callable[[Any], list[tuple[str, str]]] = field(default=lambda user: [])


@dataclass(frozen=True)
class PreferenceField:
    """A per-contact preference (``contacts_preference_fields``). ``options()`` returns
    ``(value, label)`` pairs for a choice, or leave it None for free text; ``clean(text)`` returns
    the normalized value or raises ValueError with a message. Values are text, at most 200 chars."""

    key: str
    label: str
    options: Callable[[], list[tuple[str, str]]] | None = None
    clean: Callable[[str], str] | None = None
    hint: str = ""
    order: int = 50
