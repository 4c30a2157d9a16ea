"""The core's hook implementations for the contacts list: its bulk actions and their job runner."""

import pluggy

hookimpl = pluggy.HookimplMarker("contacts")


@hookimpl
def contacts_bulk_actions():
    from .services import bulk

    return bulk.core_actions()


@hookimpl
def contacts_job_runners():
    from .services import bulk

    return {bulk.JOB_KIND: bulk.run_job}
