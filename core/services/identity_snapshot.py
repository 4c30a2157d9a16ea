"""Who a request's user is, from this process's copy when the request's stamps were read already.

Every page loads its user and the user's teams (core/services/identity.py: one statement and a
few rows). A page that is versioned (the list, a contact page: core/views/conditional.py) reads the
shared stamps anyway, and every write to a user, a team or a membership changes a shared stamp in
its own transaction (core/services/stamps.py: ``User`` and ``Team`` rows hold no contact id, and a
membership change marks the user or team modified). So the identity statement's rows are kept in
the process under that version (``stamps.local``): when they are found, no statement runs, and a
deactivated user, a new role or team, a changed session token count from the next request in every
worker, exactly as when they are read fresh. Where no stamps were read in the transaction (other
pages, the API, a request after its own write), ``stamps.local`` simply reads the rows.

The rows (plain values) are shared; the objects are not: each request gets its own ``User`` and
``Team`` objects in its session (``identity._load``), as a fresh read makes them.
"""

from __future__ import annotations

from ..models import User
from . import identity, stamps


def _kept(kind: str, params: dict) -> tuple:
    """The identity statement's rows for ``params``, as tuples, kept under the shared version."""
    key = tuple(sorted(params.items()))
    return stamps.local(f"identity:{kind}", *key,
                        make=lambda: tuple(tuple(row) for row in identity._rows(params)))


def user_by_id(user_id: int) -> User | None:
    """``identity.user_by_id``, its rows from the process's copy when the page's stamps were read."""
    params = {"id": user_id}
    return identity._load(params, rows=list(_kept("user", params)))
