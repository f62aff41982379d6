"""Billing pages for the people of a tenant: the dashboard, statements to print or download.

Every role of the tenant sees them; months run in UTC, as statements do, while the times shown
follow the person's time zone (`accounts.access.tenant_page`).
"""

import calendar
from datetime import date
from decimal import Decimal

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from accounts.access import tenant_page
from billing import selectors, services
from billing.api import csv_response
from compute.selectors import project_list

CHART_HEIGHT = 120  # the bars' area, in the SVG's own units
BAR_WIDTH = 12
BAR_STEP = 16  # a bar and the gap after it
LABEL_SPACE = 16  # under the bars, for the day numbers


def _chart(days: list, month: date) -> dict:
    """Bars of a daily cost chart, drawn as SVG on the server: no script, no outside asset.

    A slot for every day of the month, so the month's shape shows from its first day; a day
    that cost anything keeps a visible sliver however small it is next to the peak.
    """
    days_in_month = calendar.monthrange(month.year, month.month)[1]
    peak = max((cost for _, cost in days), default=Decimal(0))
    bars = []
    for day, cost in days:
        height = int(cost / peak * CHART_HEIGHT) if peak else 0
        height = max(height, 2) if cost else 0
        bars.append(
            {"x": (day.day - 1) * BAR_STEP, "y": CHART_HEIGHT - height, "height": height,
             "day": day, "cost": cost}
        )  # fmt: skip
    labels = [
        {"x": (number - 1) * BAR_STEP + BAR_WIDTH / 2, "day": number}
        for number in (1, 8, 15, 22, days_in_month)
    ]
    return {
        "bars": bars,
        "labels": labels,
        "width": days_in_month * BAR_STEP,
        "plot_height": CHART_HEIGHT,
        "height": CHART_HEIGHT + LABEL_SPACE,
        "label_y": CHART_HEIGHT + LABEL_SPACE - 3,
        "bar_width": BAR_WIDTH,
        "peak": peak,
    }


@tenant_page()
def dashboard(request):
    """Per project: cost to date, forecast, a daily chart, the costliest servers and stacks,
    and the closed months' statements."""
    tenant = request.tenant
    now = timezone.now()
    month = now.date().replace(day=1)
    projects = []
    for project in project_list(tenant=tenant):
        try:
            projects.append(_project_card(project, month, now))
        except services.PriceError as error:
            # Prices that cannot bill this project's usage: say why in its card, and show
            # the other projects as usual.
            projects.append(
                {
                    "project": project,
                    "error": str(error),
                    "statements": selectors.statement_list(project=project)[:12],
                }
            )
    return render(
        request,
        "billing/dashboard.html",
        {"tenant": tenant, "projects": projects, "month": month},
    )


def _project_card(project, month: date, now) -> dict:
    """One project's part of the dashboard; raises PriceError if its prices cannot bill it."""
    usage = services.month_usage(project=project, month=month, now=now)
    # A line is an instance at one price: an instance whose price changed this month has
    # several, so costs are added up per instance, as per stack, before ranking.
    by_instance: dict[int, dict] = {}
    by_stack: dict[str, Decimal] = {}
    for line in usage.lines:
        cost = services.money(line.cost)
        top = by_instance.setdefault(
            line.instance.pk, {"instance": line.instance, "cost": Decimal(0)}
        )
        top["cost"] += cost
        stack = line.instance.stack.name
        by_stack[stack] = by_stack.get(stack, Decimal(0)) + cost
    top_instances = sorted(by_instance.values(), key=lambda top: top["cost"], reverse=True)
    return {
        "project": project,
        "usage": usage,
        "chart": _chart(services.daily_costs(project=project, month=month, now=now), month),
        "top_instances": top_instances[:5],
        "top_stacks": sorted(by_stack.items(), key=lambda item: item[1], reverse=True)[:5],
        "statements": selectors.statement_list(project=project)[:12],
    }


def _statement_or_404(request, statement_id: int):
    statement = selectors.statement_get(tenant=request.tenant, statement_id=statement_id)
    if statement is None:
        raise Http404("No such statement.")
    return statement


@tenant_page()
def statement_detail(request, statement_id: int):
    statement = _statement_or_404(request, statement_id)
    return render(
        request,
        "billing/statement_detail.html",
        {"statement": statement, "lines": statement.lines.all()},
    )


@tenant_page()
def statement_download(request, statement_id: int):
    return csv_response(_statement_or_404(request, statement_id))
