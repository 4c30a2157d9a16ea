"""Bulk actions on contacts: on chosen ids or on everything a list query matches.

Actions come from the ``contacts_bulk_actions`` hook (the core's own: status, type, owner team,
delete; plugins add theirs). Every contact is checked on its own: one the actor may not see or
may not change (``action.permission``) is skipped and counted, never touched; the action then
goes through the services, which audit each change. Up to ``SYNC_LIMIT`` contacts run at once;
more run as a background job (``contacts.bulk``) in batches of ``BATCH``, each batch committed
with its progress, so the job can be cancelled between batches and resumed after a crash.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app, g, has_request_context
from sqlalchemy import func, select

from ..database import transaction
from ..errors import NotFound, PermissionDenied, ServiceError, ValidationError
from ..extensions import db
from ..models import MAX_ID, Contact
from ..plugins import collect, hook, implementations
from ..policy import can
from . import jobs, stamps
from .contacts import contacts_statement
from .list_query import ListQuery
from .taxonomy import held_contacts

JOB_KIND = "contacts.bulk"
SYNC_LIMIT = 200
BATCH = 100
MAX_IDS = 10_000


@dataclass
class Result:
    changed: int = 0
    skipped: int = 0
    job: object = None  # the Job when it runs in the background
    total: int = 0


def actions(*, retired: bool = False) -> dict:
    """Every bulk action offered, by key, in display order; with ``retired``, also those that only
    run jobs queued before an upgrade (``BulkAction.offered`` False)."""
    relay = hook().contacts_bulk_actions
    # The hook's answer depends on the plugins (and at most on shared rows): kept in the process under the
    # shared version when the page read it (the list page offers them on every full page).
    found = stamps.local("bulk-actions", implementations(relay),
                         make=lambda: tuple(sorted(collect(relay()), key=lambda a: (a.order, a.label))))
    return {a.key: a for a in found if a.offered or retired}


def get_action(key: str):
    action = actions().get(key or "")
    if action is None:
        raise ValidationError({"action": "Choose an action."})
    return action


def clean_params(actor, action, params: dict) -> dict:
    errors: dict = {}
    out: dict = {}
    params = params or {}
    if not isinstance(params, dict):
        raise ValidationError({"params": "Must be an object."})
    for f in action.fields:
        value = params.get(f.name, "")
        value = "" if value is None else str(value).strip()
        if not value:
            if f.required:
                errors[f.name] = f"Choose {f.label.lower()}."
            out[f.name] = value
            continue
        if f.options is not None and value not in {str(k) for k, _ in f.options(actor)}:
            errors[f.name] = f"Choose one of the offered {f.label.lower()} values."
        out[f.name] = value[:200]
    if errors:
        raise ValidationError(errors)
    return out


def clean_ids(raw) -> list[int]:
    if not isinstance(raw, list | tuple) or not raw:
        raise ValidationError({"ids": "Choose at least one contact."})
    if len(raw) > MAX_IDS:
        raise ValidationError({"ids": f"At most {MAX_IDS:,} contacts; use a filter for more."})
    ids = set()
    for value in raw:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError({"ids": "Contact ids are numbers."}) from None
        if not 0 < number <= MAX_ID:
            raise ValidationError({"ids": "Contact ids are numbers."})
        ids.add(number)
    return sorted(ids)


def run_batch(actor, action, ids: list[int], params: dict) -> tuple[int, int]:
    """Apply ``action`` to the contacts of ``ids`` the actor may change; (changed, skipped).
    Call inside a ``transaction()``."""
    contacts = held_contacts(select(Contact).where(Contact.id.in_(ids), Contact.deleted_at.is_(None)))
    allowed = [c.id for c in contacts if can(actor, "contact.view", c) and can(actor, action.permission, c)]
    skipped = len(ids) - len(allowed)
    if not allowed:
        return 0, skipped
    changed, also_skipped = action.apply(actor, allowed, params)
    return changed, skipped + also_skipped


def _ids_statement(actor, ids: list[int] | None, query: ListQuery | None):
    if ids is not None:
        return contacts_statement(actor, columns=(Contact.id,)).where(Contact.id.in_(ids))
    return contacts_statement(actor, columns=(Contact.id,), **query.statement_kwargs(actor))


def start(actor, action_key: str, params: dict, *, ids=None, query: ListQuery | None = None) -> Result:
    """Run a bulk action on ``ids`` (a list) or on what ``query`` matches: at once when it is small,
    otherwise as a job (``Result.job``)."""
    action = get_action(action_key)
    params = clean_params(actor, action, params)
    if ids is not None:
        ids = clean_ids(ids)
    elif query is None:
        raise ValidationError({"ids": "Choose contacts, or a filter."})
    stmt = _ids_statement(actor, ids, query)
    if ids is not None:
        total = len(ids)
    else:
        total = db.session.scalar(select(func.count()).select_from(stmt.limit(SYNC_LIMIT + 1).subquery()))
    if total <= SYNC_LIMIT:
        chosen = ids if ids is not None else list(db.session.scalars(stmt.order_by(Contact.id)))
        result = Result(total=len(chosen))
        if chosen:
            with transaction():
                result.changed, result.skipped = run_batch(actor, action, chosen, params)
        return result
    if ids is None:
        total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    job_params = {"action": action.key, "params": params}
    if ids is not None:
        job_params["ids"] = ids
    else:
        job_params["query"] = query.string()
    title = f"{action.label}: {total:,} contacts"
    job = jobs.start(actor, JOB_KIND, job_params, title=title, total=total)
    return Result(job=job, total=total)


@contextmanager
def acting_as(actor):
    """Outside a request (a worker), give plugin filters a ``current_user``: the job's actor."""
    if has_request_context():
        yield
        return
    with current_app.test_request_context("/"):
        g._login_user = actor
        try:
            yield
        finally:
            g.pop("_login_user", None)


def run_job(ctx) -> dict:
    """The ``contacts.bulk`` runner: batches of ids in id order after ``checkpoint["after"]``."""
    actor = ctx.actor
    key = ctx.params.get("action", "")
    action = actions(retired=True).get(key)
    if action is None:
        raise ServiceError(f"The bulk action {key!r} is no longer available (its plugin may be off): "
                           "choose the contacts again and run one of the actions the contacts list offers.")
    params = ctx.params.get("params") or {}
    done = ctx.checkpoint.get("done", 0)
    changed, skipped = ctx.checkpoint.get("changed", 0), ctx.checkpoint.get("skipped", 0)
    after = ctx.checkpoint.get("after", 0)
    with acting_as(actor):
        ids = ctx.params.get("ids")
        query = None if ids is not None else ListQuery.from_string(ctx.params.get("query", ""))
        stmt = _ids_statement(actor, ids, query)
        total = len(ids) if ids is not None else None
        while True:
            with transaction():
                batch = list(db.session.scalars(stmt.where(Contact.id > after).order_by(Contact.id).limit(BATCH)))
                if not batch:
                    break
                c, s = run_batch(actor, action, batch, params)
                changed, skipped, done, after = changed + c, skipped + s, done + len(batch), batch[-1]
                mark = {"after": after, "done": done, "changed": changed, "skipped": skipped}
                ctx.progress(done, total if total is not None else max(done, _job_total(ctx)), checkpoint=mark)
    if ids is not None:
        skipped += max(0, len(ids) - done)  # ids no longer visible or gone
    back = "/?" + ctx.params["query"] if ctx.params.get("query") else "/"
    return {"summary": {"Changed": changed, "Skipped": skipped}, "links": [{"label": "Back to the contacts", "url": back}]}


def _job_total(ctx) -> int:
    from ..models import Job

    return db.session.get(Job, ctx.job_id).total or 0


# --- the core's own actions --------------------------------------------------------------------------


def _set_field(name: str):
    from . import contacts

    def apply(actor, ids, params):
        value = params[name]
        changed = skipped = 0
        for contact_id in ids:
            contact = db.session.get(Contact, contact_id)
            if str(getattr(contact, name)) == value:
                continue
            try:
                contacts.update_contact(actor, contact_id, {name: value}, None)
            except (ValidationError, PermissionDenied, NotFound):
                skipped += 1
            else:
                changed += 1
        return changed, skipped

    return apply


def _delete(actor, ids, params):
    from . import contacts

    changed = skipped = 0
    for contact_id in ids:
        try:
            contacts.delete_contact(actor, contact_id)
        except (PermissionDenied, NotFound):
            skipped += 1
        else:
            changed += 1
    return changed, skipped


def core_actions() -> list:
    from ..policy import writable_teams
    from ..ui import BulkAction, BulkField
    from . import vocabulary

    return [
        BulkAction("status", "Change status", _set_field("status"),
                   (BulkField("status", "Status", lambda user: vocabulary.terms("status")),), order=10),
        BulkAction("type", "Change type", _set_field("type"),
                   (BulkField("type", "Type", lambda user: vocabulary.terms("type")),), order=11),
        BulkAction("owner_team", "Change owner team", _set_field("owner_team_id"),
                   (BulkField("owner_team_id", "Team", lambda user: [(str(t.id), t.name) for t in writable_teams(user)]),),
                   order=12),
        BulkAction("delete", "Move to the trash", _delete, permission="contact.delete",
                   confirm="Move the chosen contacts to the trash?", order=90),
    ]
