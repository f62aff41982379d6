"""Billing tasks: statements are made after each month ends, one task per project."""

import logging
from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing import services
from compute.models import Project
from portal.celery import queue_name

logger = logging.getLogger(__name__)

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


def _last_month() -> date:
    return (timezone.now().date().replace(day=1) - timedelta(days=1)).replace(day=1)


@shared_task(name="billing.close_statements", **TASK_OPTIONS)
def close_statements() -> None:
    """Queue last month's statement of every project that has usage; safe to run daily."""
    month = _last_month().isoformat()
    queue = queue_name(settings.CELERY_QUEUE_PREFIX, "billing")
    for project_id in services.projects_to_bill().values_list("pk", flat=True):
        close_statement.apply_async((project_id, month), queue=queue)


@shared_task(name="billing.close_statement", **TASK_OPTIONS)
def close_statement(project_id: int, month: str) -> None:
    project = Project.objects.get(pk=project_id)
    services.statement_close(project=project, month=date.fromisoformat(month))


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
