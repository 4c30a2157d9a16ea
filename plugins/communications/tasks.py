"""huey tasks: ``communications.deliver`` (one send) and ``communications.sweep`` (periodic).

The sweeper runs every minute and when a worker starts (huey's consumer runs periodic tasks
at start-up), so sends left behind by a killed worker go out as soon as a worker is back.
"""

from __future__ import annotations

from huey import crontab

from core.tasks import in_app_context, register

from . import delivery


def deliver(comm_id: int) -> str:
    return delivery.deliver(comm_id)


def sweep() -> int:
    return delivery.sweep()


def setup(app, huey) -> None:
    register(app, huey, deliver, name=delivery.DELIVER_TASK)
    periodic = huey.periodic_task(crontab(minute="*"), name=delivery.SWEEP_TASK)(in_app_context(app, sweep))
    app.extensions["contacts_tasks"][delivery.SWEEP_TASK] = periodic
