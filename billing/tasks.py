"""Billing tasks: statements are made after each month ends, one task per project."""

import logging
from datetime import date

from celery import shared_task
from django.conf import settings

from billing import services
from compute.models import Project
from portal.celery import queue_name

logger = logging.getLogger(__name__)

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(name="billing.close_statements", **TASK_OPTIONS)
def close_statements() -> None:
    """Queue one task per project that has usage, to close its ended months that have no
    statement yet; safe to run daily. Each project's failure stays its own."""
    queue = queue_name(settings.CELERY_QUEUE_PREFIX, "billing")
    for project_id in services.projects_to_bill().values_list("pk", flat=True):
        close_statement.apply_async((project_id,), queue=queue)


@shared_task(name="billing.close_statement", **TASK_OPTIONS)
def close_statement(project_id: int, month: str | None = None) -> None:
    """Close one month of a project, or, without a month, every ended month it has not closed.

    Oldest first, and stopping at the first that fails, so that a month's adjustment lines
    are always reckoned against the months closed before it; the next run takes it up again.
    """
    project = Project.objects.get(pk=project_id)
    months = [date.fromisoformat(month)] if month else services.months_to_close(project=project)
    for due in months:
        services.statement_close(project=project, month=due)


def close_statements_for(*, month: date) -> int:
    """Make a month's statements here and now (operators, tests); returns how many failed.

    A project whose data cannot be billed is logged and skipped; the others go on.
    """
    failures = 0
    for project in services.projects_to_bill():
        try:
            services.statement_close(project=project, month=month)
        except Exception:
            failures += 1
            logger.exception(
                "Statement failed project=%s tenant=%s month=%s",
                project.name,
                project.tenant_id,
                f"{month:%Y-%m}",
            )
    return failures
