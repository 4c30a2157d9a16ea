"""Every hook a plugin may implement.

Plugins implement these with ``@core.hookimpl``. The core always calls hooks with keyword
arguments. Setup hooks run once in ``create_app``; UI hooks run per request and *return data*
that the core renders; event hooks run after the change is committed and return nothing (but
``contacts_record_written``, inside the change's transaction);
decision hooks are ``firstresult``: the first non-``None`` answer wins.

Hook order is last-registered-first, so event hooks must not depend on each other's order.
"""

import pluggy

hookspec = pluggy.HookspecMarker("contacts")


# --- Setup hooks (called once, in create_app) -------------------------------------------------


@hookspec
def contacts_blueprints(app):
    """Return a list of Flask blueprints to register on ``app``.

    Every view in them needs an explicit access rule (``core.access.public``,
    ``login_required`` or ``role_required``); routes without one answer 403.

    Example::

        @hookimpl
        def contacts_blueprints(app):
            from .views import bp
            return [bp]
    """


@hookspec
def contacts_migration_dirs():
    """Return a list of folders holding this plugin's Alembic revisions (its own branch).

    The branch's first revision has ``branch_labels = ("<plugin>",)`` and ``depends_on`` the
    core revision it needs.

    Example::

        @hookimpl
        def contacts_migration_dirs():
            return [str(Path(__file__).parent / "migrations")]
    """


@hookspec
def contacts_cli(group):
    """Add click commands to the ``contacts`` command group.

    Example::

        @hookimpl
        def contacts_cli(group):
            @group.command("notes-count")
            def notes_count():
                click.echo(count_notes())
    """


@hookspec
def contacts_tasks(app, huey):
    """Register huey tasks with ``core.tasks.register(app, huey, fn)``; queue them later
    with ``core.tasks.enqueue(name, ...)``. Each run opens an app context of its own.

    Example::

        @hookimpl
        def contacts_tasks(app, huey):
            from .tasks import send_due
            register(app, huey, send_due, name="communications.send_due")
    """


@hookspec
def contacts_job_runners():
    """Return ``{kind: runner}``: background job kinds this plugin runs (imports, bulk changes...).

    Start one with ``core.services.jobs.start(actor, kind, params, title=...)``; the worker calls
    ``runner(ctx)`` as the user who started it. ``ctx.params`` holds what was passed,
    ``ctx.checkpoint`` where a resumed run picks up; report with
    ``ctx.progress(done, total, checkpoint=...)`` between batches (it raises ``JobCancelled``
    once the job is cancelled) and ``ctx.error(ref, message)`` per bad item. The returned dict
    is the job's result; ``result["links"]`` (``[{"label", "url"}]``) is shown when it ends.

    Example::

        @hookimpl
        def contacts_job_runners():
            return {"campaigns.refresh": refresh_all_campaigns}
    """


@hookspec
def contacts_hookspecs():
    """Return a list of modules holding hookspecs of this plugin's own, for other plugins.

    Called once after every plugin is registered and before hook names are checked, so a
    plugin may implement another plugin's hooks. The spec names should start with the
    declaring plugin's name (``communications_sent``). Implemented as a plain function in the
    plugin module; the core reads it directly.

    Example::

        @hookimpl
        def contacts_hookspecs():
            from . import hookspecs
            return [hookspecs]
    """


@hookspec
def contacts_template_globals():
    """Return a dict of names to add to the Jinja globals.

    Example::

        @hookimpl
        def contacts_template_globals():
            return {"render_markdown": render_markdown}
    """


@hookspec
def contacts_permissions():
    """Return a dict ``{action: description}`` of the actions this plugin checks with ``can``.

    Shown on the admin page so administrators know what a ``contacts_permission`` rule can
    refer to.

    Example::

        @hookimpl
        def contacts_permissions():
            return {"note.create": "Write a note on a contact"}
    """


# --- UI hooks (return data; the core renders it) ----------------------------------------------


@hookspec
def contacts_nav_items(user):
    """Return a list of ``core.ui.NavItem`` for the main navigation, for ``user``.

    The answer may depend on ``user`` (their role, teams...) and on shared rows, not on contacts or
    on the request: the core keeps it in the process for that user until a shared write
    (core/services/stamps.py ``local``).

    Example::

        @hookimpl
        def contacts_nav_items(user):
            return [NavItem("Campaigns", url_for("campaigns.index"), order=30)]
    """


@hookspec
def contacts_contact_panels(contact, user):
    """Return a list of ``core.ui.Panel`` shown on the contact page.

    Each panel is loaded lazily with ``hx-get`` from its ``url``, so a slow plugin never
    delays the page; a cheap one may say ``inline=True`` and is rendered into the page by calling
    the view behind ``url`` in the page's request (one request less; see core/views/panels.py).

    Example::

        @hookimpl
        def contacts_contact_panels(contact, user):
            return [Panel("notes", "Notes", url_for("collaboration.panel", contact_id=contact.id))]
    """


@hookspec
def contacts_dashboard_widgets(user):
    """Return a list of ``core.ui.Panel`` shown on the home dashboard, each loaded lazily.

    Example::

        @hookimpl
        def contacts_dashboard_widgets(user):
            return [Panel("activity", "Recent activity", url_for("monitoring.widget"))]
    """


@hookspec
def contacts_search_filters():
    """Return a list of ``core.ui.SearchFilter`` that plugins add to the contacts list.

    ``apply(query, value)`` receives the SQLAlchemy ``select`` of contacts and the value from
    the query string, and returns the narrowed ``select``.

    Example::

        @hookimpl
        def contacts_search_filters():
            return [SearchFilter("list", "In list", options=list_options, apply=in_list)]
    """


@hookspec
def contacts_bulk_actions():
    """Return a list of ``core.ui.BulkAction``: actions on many contacts at once, offered on the
    contacts list (for the checked rows or everything a filter matches) and in
    ``POST /api/v1/contacts/bulk``.

    ``apply(actor, contact_ids, params) -> (changed, skipped)`` runs inside the core's transaction
    for one batch (at most 100 ids), with only the contacts the actor may see and may
    ``permission`` (default ``contact.edit``) one by one; go through your services (they audit) and
    count as skipped what you refuse. ``fields`` are the inputs the action asks for
    (``BulkField(name, label, options=callable(user))``); their values arrive in ``params`` as
    strings, already checked against ``options``. Large sets run in a background job. The list
    keeps the answer in the process until a shared write (core/services/stamps.py ``local``): it
    may depend on the plugins and on shared rows, not on the request.

    Example::

        @hookimpl
        def contacts_bulk_actions():
            def add(actor, contact_ids, params):
                changed = sum(add_member(actor, int(params["campaign_id"]), cid) for cid in contact_ids)
                return changed, 0

            return [BulkAction("campaign_add", "Add to campaign", add,
                               fields=(BulkField("campaign_id", "Campaign", options=writable_campaign_options),))]
    """


@hookspec
def contacts_contact_actions(contact, user):
    """Return a list of ``core.ui.Action`` (buttons) for a contact row or page.

    On the contacts list ``contact`` is a ``core.services.contact_rows.ContactRow``: the listed
    columns (``id``, names, ``email``, ``phone``, ``organization_id``, ``type``, ``status``,
    ``owner_team_id``, ``category_id``, dates, ``full_name``) as plain values, not the entity.
    The list does not call this hook at all when no plugin implements it.

    Example::

        @hookimpl
        def contacts_contact_actions(contact, user):
            return [Action("Add to campaign", url_for("campaigns.add_form", contact_id=contact.id))]
    """


@hookspec
def contacts_preference_fields():
    """Return a list of ``core.ui.PreferenceField``: per-contact preferences this plugin adds.

    The core shows and edits them with its own (language, time zone, preferred contact time) on
    the contact page and in ``/api/v1/contacts/<id>/contact-preferences``, stores them as text (at most
    200 characters) and audits changes. ``options()`` makes it a choice; ``clean(text)`` returns
    the normalized value or raises ``ValueError`` with a message for the user. Keys are unique;
    prefix them with the plugin's name. A field with ``store=PreferenceStore(read, write)`` keeps its
    value in the plugin's own table instead: the core calls ``read(contact_id)`` to show it and
    ``write(actor, contact_id, values)`` (all the store's keys) inside the same transaction as its
    own rows, so the plugin's rules across fields (``ValidationError`` keyed by field) roll back
    the whole save.

    Example::

        @hookimpl
        def contacts_preference_fields():
            channels = lambda: [("email", "Email"), ("sms", "SMS")]
            store = PreferenceStore(read=read_my_row, write=save_my_row)
            return [PreferenceField("communications_channel", "Preferred channel", options=channels, store=store)]
    """


# --- Event hooks (after commit; return nothing) ------------------------------------------------


@hookspec
def contacts_contact_created(contact, actor):
    """A contact was created and committed.

    Example::

        @hookimpl
        def contacts_contact_created(contact, actor):
            record_activity(actor, "created", contact)
    """


@hookspec
def contacts_contact_updated(contact, actor, changes):
    """A contact was changed and committed; ``changes`` maps field -> ``(before, after)``.

    Example::

        @hookimpl
        def contacts_contact_updated(contact, actor, changes):
            if "email" in changes:
                resend_welcome(contact)
    """


@hookspec
def contacts_contact_deleted(contact, actor):
    """A contact was moved to the trash (soft delete) and committed.

    Example::

        @hookimpl
        def contacts_contact_deleted(contact, actor):
            cancel_scheduled_sends(contact.id)
    """


@hookspec
def contacts_contacts_merged(target, source, actor):
    """``source`` was merged into ``target``: re-point this plugin's rows to ``target`` and return
    an *undo record* saying exactly what was changed, so that an unmerge can put it all back.

    The undo record is a one-key dict ``{"<plugin name>": record}`` where ``record`` is
    JSON-serializable (ids and previous values only: no ORM objects; datetimes as ISO strings).
    It must describe every row the merge moved, changed or deleted, with the values needed to
    restore them. Return ``None`` when nothing changed. The caller (the core's merge service)
    combines the answers into one dict keyed by plugin name (``undo.update(answer)`` for each
    non-None answer), stores it with the merge and passes it back to
    ``contacts_contacts_unmerged``. Write inside ``core.database.transaction()`` so the change
    joins the caller's transaction.

    Example::

        @hookimpl
        def contacts_contacts_merged(target, source, actor):
            with transaction() as session:
                ids = session.scalars(select(Note.id).where(Note.contact_id == source.id)).all()
                session.execute(update(Note).where(Note.id.in_(ids)).values(contact_id=target.id))
            return {"notes": {"moved": ids}} if ids else None
    """


@hookspec
def contacts_contacts_unmerged(target, source, actor, undo):
    """A merge of ``source`` into ``target`` is being undone: put this plugin's rows back on
    ``source`` exactly as they were before the merge.

    ``undo`` is the dict the core stored with the merge, keyed by plugin name: the combined
    answers of ``contacts_contacts_merged`` (or ``None``). pluggy calls every implementation with
    the same arguments, so each plugin reads only its own record with ``undo.get("<its name>")``
    and does nothing when that is ``None``. Move back the rows the record lists, re-create the rows
    the merge deleted and restore the previous values it overwrote. Be idempotent (a second call
    changes nothing) and tolerant: skip rows that were deleted, or moved elsewhere, since the merge.
    Write inside ``core.database.transaction()``. Return nothing.

    Example::

        @hookimpl
        def contacts_contacts_unmerged(target, source, actor, undo):
            record = (undo or {}).get("notes")
            if not record:
                return
            with transaction() as session:
                session.execute(update(Note).where(Note.id.in_(record["moved"]), Note.contact_id == target.id)
                                .values(contact_id=source.id))
    """


@hookspec
def contacts_record_changed(entity_type, entity_id, action, actor, changes):
    """Any audited record changed and was committed (contacts, organizations, plugin records).

    ``entity_type`` is e.g. ``contact``, ``organization``, ``note``, ``communication``, ``list``;
    ``action`` is ``created``, ``updated``, ``deleted`` or ``restored``; ``changes`` maps
    field -> ``(before, after)``. For ``contact`` the contact is ``entity_id``. Plugins that call
    this for their own records do so after commit (``core.database.after_commit``) and pass
    ``changes["contact_id"] = (before, after)`` when the record belongs to a contact (the
    activity feed files it under that contact and its owner team), or
    ``changes["owner_team_id"]`` when there is none. Implementations must not raise.

    Example::

        @hookimpl
        def contacts_record_changed(entity_type, entity_id, action, actor, changes):
            feed.append(entity_type, entity_id, action, actor)
    """


@hookspec
def contacts_record_written(entity_type, entity_id, action, actor, changes):
    """An audited record was written and its transaction is still open: the in-transaction form of
    ``contacts_record_changed``, with the same arguments, for a listener whose rows belong with the
    change (the activity feed): add them to ``db.session`` and they commit with the change, in the
    same commit, or roll back with it. Raising rolls the change back too.

    The core calls it through ``core.plugins.record_changed`` (contacts and their details): a plugin
    that implements this hook hears of such a change here and is NOT called by
    ``contacts_record_changed`` for it; other plugins hear of it after commit as before. Changes that
    are announced with ``contacts_record_changed`` alone (other plugins' records, merges) still
    reach only that hook, so implement both.

    Example::

        @hookimpl
        def contacts_record_written(entity_type, entity_id, action, actor, changes):
            db.session.add(FeedEntry(entity_type=entity_type, entity_id=entity_id, action=action))
    """


@hookspec
def contacts_records_changed(entity_type, items, actor):
    """Many records of one type changed in one committed transaction (an import batch): the
    batch form of ``contacts_record_changed``, so a listener can write its rows at once.

    ``items`` is a list of ``(entity_id, action, changes)`` triples with the meaning they have in
    ``contacts_record_changed``. The core calls it through ``core.plugins.records_changed``: a
    plugin that implements this hook gets the batch here and is NOT called per record for it;
    a plugin that implements only ``contacts_record_changed`` is called once per item, as before.
    Single edits still go through ``contacts_record_changed`` alone. Implementations must not raise.

    Example::

        @hookimpl
        def contacts_records_changed(entity_type, items, actor):
            feed.append_many((entity_type, entity_id, action, actor) for entity_id, action, _changes in items)
    """


# --- Decision hooks -------------------------------------------------------------------------


@hookspec(firstresult=True)
def contacts_permission(user, action, obj):
    """Decide whether ``user`` may do ``action`` on ``obj``: return True, False or None.

    ``firstresult``: the first non-None answer wins. The core's own rule is registered
    ``trylast``, so a plugin can grant or refuse before it. For the contacts list's rows ``obj``
    is a ``core.services.contact_rows.ContactRow`` (the listed columns as plain values), and the
    implementations are called directly in the hook's order (``policy.contact_permissions``).

    Example::

        @hookimpl
        def contacts_permission(user, action, obj):
            if action == "contact.delete" and getattr(obj, "status", "") == "vip":
                return False
    """
