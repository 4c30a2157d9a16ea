"""The core's hook implementations for imports: the "contacts.import" job runner, and external ids
following a merge of contacts (and going back on unmerge)."""

import pluggy

hookimpl = pluggy.HookimplMarker("contacts")


@hookimpl
def contacts_job_runners():
    from .services import import_jobs

    return {import_jobs.KIND: import_jobs.run_job}


@hookimpl
def contacts_contacts_merged(target, source, actor):
    """The merged-away contact's external ids now lead to the survivor, so a re-import updates it."""
    from sqlalchemy import select, update

    from .database import transaction
    from .models import ContactExternalId

    with transaction() as session:
        ids = sorted(session.scalars(select(ContactExternalId.id).where(ContactExternalId.contact_id == source.id)))
        if ids:
            session.execute(update(ContactExternalId).where(ContactExternalId.id.in_(ids)).values(contact_id=target.id))
    return {"imports": {"external_ids": ids}} if ids else None


@hookimpl
def contacts_contacts_unmerged(target, source, actor, undo):
    record = (undo or {}).get("imports")
    if not record:
        return
    from sqlalchemy import update

    from .database import transaction
    from .models import ContactExternalId

    ids = [int(i) for i in record.get("external_ids") or []]
    with transaction() as session:
        for start in range(0, len(ids), 500):
            session.execute(
                update(ContactExternalId)
                .where(ContactExternalId.id.in_(ids[start:start + 500]), ContactExternalId.contact_id == target.id)
                .values(contact_id=source.id)
            )
