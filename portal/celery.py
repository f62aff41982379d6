"""The Celery application; its configuration is the `CELERY_*` part of the Django settings.

Work is split over queues by kind, so that a flood of one kind (say, webhooks to a slow
receiver) cannot starve another (provisioning). Every queue name starts with
`CELERY_QUEUE_PREFIX`, so that several portals, or test runs, can share one broker.
"""

import os

from celery import Celery, bootsteps
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

QUEUE_KINDS = ("provisioning", "reconciliation", "webhooks", "billing")
TASK_QUEUE_KINDS = {
    "compute.advance_operation": "provisioning",
    "compute.watchdog": "provisioning",
    "compute.deliver_webhook": "webhooks",
    "compute.reconcile_all": "reconciliation",
    "compute.reconcile_project": "reconciliation",
    "compute.refresh_catalogs": "reconciliation",
    "compute.refresh_catalog": "reconciliation",
    "billing.close_statements": "billing",
    "billing.close_statement": "billing",
}


def queue_name(prefix: str, kind: str) -> str:
    return f"{prefix}.{kind}"


def queues_for(prefix: str, *, expires_ms: int | None = None) -> list[Queue]:
    """The default queue and one durable queue per kind of work."""
    arguments = {"x-expires": expires_ms} if expires_ms else None
    names = [prefix] + [queue_name(prefix, kind) for kind in QUEUE_KINDS]
    return [
        Queue(name, Exchange(name), routing_key=name, durable=True, queue_arguments=arguments)
        for name in names
    ]


def routes_for(prefix: str) -> dict[str, dict]:
    return {task: {"queue": queue_name(prefix, kind)} for task, kind in TASK_QUEUE_KINDS.items()}


class AckBeforePolling(bootsteps.StartStopStep):
    """Send the acks of tasks that ran in a timer before the worker's event loop sleeps.

    With the solo pool (`make run`, the tests) a countdown task runs inside the loop's timer
    and its late ack is queued for the loop's next turn; but the loop first sleeps in poll
    for up to 10 s, and with a prefetch of one the broker sends nothing until that ack. So
    every countdown task held the next message back by up to 10 s. The hub runs its
    `on_tick` callbacks between the timers and the poll: the queued acks go out there.
    """

    requires = {"celery.worker.components:Hub"}

    def start(self, worker):
        hub = worker.hub
        if hub is not None:
            hub.on_tick.add(lambda: run_ready_callbacks(hub))


def run_ready_callbacks(hub) -> None:
    # Limitation: kombu's hub has no public call for this; `_pop_ready` is what its loop uses.
    for callback in hub._pop_ready():
        callback()


app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["worker"].add(AckBeforePolling)
app.autodiscover_tasks()
