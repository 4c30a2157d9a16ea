"""The core's hook implementations for imports: the "contacts.import" job runner."""

import pluggy

hookimpl = pluggy.HookimplMarker("contacts")


@hookimpl
def contacts_job_runners():
    from .services import import_jobs

    return {import_jobs.KIND: import_jobs.run_job}
