"""Billing pages for the people of a tenant: the dashboard, statements to print or download.

Every role of the tenant sees them; months run in UTC, as statements do, while the times shown
follow the person's time zone (`accounts.access.tenant_page`).
"""

from decimal import Decimal

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from accounts.access import tenant_page
from billing import selectors, services
from billing.api import csv_response
from compute.selectors import project_list

CHART_HEIGHT = 120


def _chart(days: list) -> dict:
    """Bars of a daily cost chart, drawn as SVG on the server: no script, no outside asset."""
    peak = max((cost for _, cost in days), default=Decimal(0)) or Decimal(1)
    width = 12
    bars = [
        {
            "x": index * (width + 2),
            "height": int(cost / peak * CHART_HEIGHT),
            "y": CHART_HEIGHT - int(cost / peak * CHART_HEIGHT),
            "day": day,
            "cost": cost,
        }
        for index, (day, cost) in enumerate(days)
    ]
    return {
        "bars": bars,
        "width": max(len(days), 1) * (width + 2),
        "height": CHART_HEIGHT,
        "bar_width": width,
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
        usage = services.month_usage(project=project, month=month, now=now)
        by_stack: dict[str, Decimal] = {}
        for line in usage.lines:
            stack = line.instance.stack.name
            by_stack[stack] = by_stack.get(stack, Decimal(0)) + services.money(line.cost)
        top_instances = sorted(usage.lines, key=lambda line: line.cost, reverse=True)[:5]
        projects.append(
            {
                "project": project,
                "usage": usage,
                "chart": _chart(services.daily_costs(project=project, month=month, now=now)),
                "top_instances": [
                    {"line": line, "cost": services.money(line.cost)} for line in top_instances
                ],
                "top_stacks": sorted(by_stack.items(), key=lambda item: item[1], reverse=True)[:5],
                "statements": selectors.statement_list(project=project)[:12],
            }
        )
    return render(
        request,
        "billing/dashboard.html",
        {"tenant": tenant, "projects": projects, "month": month},
    )


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
