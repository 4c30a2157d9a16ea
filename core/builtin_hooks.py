"""The core's own hook implementations, registered before any plugin."""

import pluggy

from . import policy

hookimpl = pluggy.HookimplMarker("contacts")


@hookimpl(trylast=True)
def contacts_permission(user, action, obj):
    return policy.core_rule(user, action, obj)


@hookimpl
def contacts_tasks(app, huey):
    from huey import crontab

    from .services import jobs
    from .tasks import in_app_context, register

    register(app, huey, jobs.run, name=jobs.RUN_TASK)
    periodic = huey.periodic_task(crontab(minute="*"), name=jobs.SWEEP_TASK)(in_app_context(app, jobs.sweep))
    app.extensions["contacts_tasks"][jobs.SWEEP_TASK] = periodic


# --- the contacts list's bulk actions (core/services/bulk.py) and their background job --------------


@hookimpl
def contacts_bulk_actions():
    from .services import bulk

    return bulk.core_actions()


@hookimpl
def contacts_job_runners():
    from .services import bulk, legacy_jobs

    return {bulk.JOB_KIND: bulk.run_job, legacy_jobs.VCARD_KIND: legacy_jobs.run_vcard_import}
