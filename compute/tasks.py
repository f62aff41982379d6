"""Celery tasks of the compute app: thin, they take ids, call a service, and end.

Every task is acknowledged late and rejected when its worker dies, so a killed worker's task
runs again; the services make a second run harmless.
"""

import logging

from celery import shared_task
from django.conf import settings

from compute import services
from compute.models import Project
from portal.celery import queue_name

logger = logging.getLogger(__name__)

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


def queue(kind: str) -> str:
    """The queue of a kind of work, read when sending so that a test may move it."""
    return queue_name(settings.CELERY_QUEUE_PREFIX, kind)


@shared_task(name="compute.advance_operation", **TASK_OPTIONS)
def advance_operation(operation_id: str, wakeup: str) -> None:
    try:
        services.operation_advance(operation_id=operation_id, wakeup=wakeup)
    except Exception:
        logger.exception("Operation step crashed operation=%s", operation_id)
        services.operation_record_crash(operation_id=operation_id, wakeup=wakeup)


@shared_task(name="compute.deliver_webhook", **TASK_OPTIONS)
def deliver_webhook(delivery_id: int, attempts_before: int | None = None) -> None:
    # attempts_before is None in messages queued before it existed: they are not checked.
    retry = services.webhook_deliver(delivery_id=delivery_id, attempts_before=attempts_before)
    if retry is not None:
        wait, attempts = retry
        deliver_webhook.apply_async(
            (delivery_id, attempts), countdown=wait, queue=queue("webhooks")
        )


@shared_task(name="compute.watchdog", **TASK_OPTIONS)
def watchdog() -> int:
    return services.operations_watchdog() + services.webhooks_watchdog()


@shared_task(name="compute.reconcile_all", **TASK_OPTIONS)
def reconcile_all() -> None:
    # One task per project: a project whose cloud fails cannot hold up the others.
    for project_id in services.projects_to_reconcile().values_list("pk", flat=True):
        reconcile_project.apply_async((project_id,), queue=queue("reconciliation"))


@shared_task(name="compute.reconcile_project", **TASK_OPTIONS)
def reconcile_project(project_id: int) -> None:
    project = Project.objects.select_related("cloud").filter(pk=project_id).first()
    if project is None:
        return
    try:
        services.project_reconcile(project=project)
    except services.CloudError as error:
        logger.warning("Reconcile failed project=%s reason=%s", project.name, error.reason)


@shared_task(name="compute.refresh_catalogs", **TASK_OPTIONS)
def refresh_catalogs() -> None:
    for project_id in services.projects_to_reconcile().values_list("pk", flat=True):
        refresh_catalog.apply_async((project_id,), queue=queue("reconciliation"))


@shared_task(name="compute.refresh_catalog", **TASK_OPTIONS)
def refresh_catalog(project_id: int) -> None:
    project = Project.objects.select_related("cloud").filter(pk=project_id).first()
    if project is None:
        return
    try:
        services.catalog_refresh(project=project)
    except services.CloudError as error:
        logger.warning("Catalog refresh failed project=%s reason=%s", project.name, error.reason)
