"""Read-only billing queries and the shapes the API and pages show."""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import Tenant
from billing.models import Statement
from billing.services import MonthUsage, money
from compute.models import Instance, Project

HOURS_PRECISION = Decimal("0.0001")
RATE_PRECISION = Decimal("0.0001")


def existing_instances(*, project: Project) -> list[Instance]:
    return list(
        Instance.objects.filter(stack__project=project)
        .exclude(state=Instance.State.DELETED)
        .order_by("-created", "-name")
    )


def statement_list(*, project: Project) -> QuerySet[Statement]:
    return Statement.objects.filter(project=project).order_by("-period_start")


def statement_get(*, tenant: Tenant, statement_id: int) -> Statement | None:
    return (
        Statement.objects.select_related("project__tenant")
        .filter(project__tenant=tenant, pk=statement_id)
        .first()
    )


def statement_summary(statement: Statement, request=None) -> dict:
    csv_path = reverse("api-billing-statement-csv", args=[statement.pk])
    return {
        "id": statement.pk,
        "month": f"{statement.period_start:%Y-%m}",
        "currency": statement.currency,
        "total": str(money(statement.total)),
        "closed": statement.closed.isoformat(),
        "csv_url": request.build_absolute_uri(csv_path) if request else csv_path,
    }


def usage_answer(usage: MonthUsage) -> dict:
    """A month's usage as the API shows it: money as strings, so no float rounds it."""
    return {
        "project_name": usage.project.name,
        "month": f"{usage.start:%Y-%m}",
        "from": usage.start.isoformat(),
        "until": usage.until.isoformat(),
        "currency": usage.currency,
        "instances": [
            {
                "id": line.instance.server_id,
                "name": line.instance.name,
                "stack_name": line.instance.stack.name,
                "flavor_id": line.instance.flavor_id,
                "price_per_hour": None if line.price is None else str(line.price.normalize()),
                "seconds": int(line.seconds),
                "hours": str((line.seconds / 3600).quantize(HOURS_PRECISION)),
                "cost": str(money(line.cost)),
            }
            for line in usage.lines
        ],
        "total": str(money(usage.total)),
        # A rate, not an amount billed: to the cent, a server at 0.004/h would run for nothing.
        "hourly_rate": str(usage.hourly_rate.quantize(RATE_PRECISION, rounding=ROUND_HALF_UP)),
        "forecast": None if usage.forecast is None else str(usage.forecast),
    }
