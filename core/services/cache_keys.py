"""Generation tokens for cached values derived from the database.

A cached value's key includes its generation (``key("organizations", ...)``); a write replaces the
generation (``bump("organizations")``, after commit) and every older entry simply stops being read,
in every worker process, since the token lives in the shared cache (Redis or the file cache).
Tokens are random, never counters: if the token is evicted or expires, the next reader draws a new
one, so an old entry can never become current again.
"""

from __future__ import annotations

import secrets

from ..extensions import cache


def _token_key(name: str) -> str:
    return f"generation:{name}"


def generation(name: str) -> str:
    token = cache.get(_token_key(name))
    if not isinstance(token, str):
        token = secrets.token_hex(8)
        cache.set(_token_key(name), token, timeout=0)
    return token


def bump(name: str) -> None:
    """Invalidate every cached value of ``name`` (call it after the change is committed)."""
    cache.set(_token_key(name), secrets.token_hex(8), timeout=0)


def kept(key: str):
    """``cache.get(key)`` for a small value read on every request; with the file cache, from this
    process's copy while the shared file is unchanged (core/page_store.py ``get_kept``). The callers
    share the value: they must not change it."""
    get_kept = getattr(cache.cache, "get_kept", None)
    return get_kept(key) if get_kept is not None else cache.get(key)


def key(name: str, *parts) -> str:
    """The cache key of one value of ``name``, at its current generation."""
    return ":".join([name, generation(name), *(str(p) for p in parts)])


PLAN_SECONDS = 300  # how long a plan's yes/no is trusted: counts drift slowly, a wrong plan is only slower


def plan_choice(name: str, decide) -> bool:
    """A yes/no that only picks a query plan (is this tag, term or value common?), from a bounded count
    that ``decide()`` runs, remembered for a few minutes under ``name``: "load more" pages and repeated
    searches would otherwise count again. No write has to invalidate it; results never depend on it."""
    known = cache.get(name)
    if isinstance(known, bool):
        return known
    answer = bool(decide())
    cache.set(name, answer, timeout=PLAN_SECONDS)
    return answer
