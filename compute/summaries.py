"""Read-only figures the tenant's pages show: counts by state, catalogs, prices in force.

Everything here answers from the portal's database in a fixed number of queries, whatever
the number of stacks: no page waits on the cloud to list or count.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone

from billing.models import to_us
from billing.services import PriceError, price_periods
from compute.models import Instance, Project, ProjectCatalog, Stack

TRANSITIONAL_STATES = (Stack.State.CREATING, Stack.State.DELETING)


@dataclass
class ProjectSummary:
    project: Project
    stacks: dict[str, int] = field(default_factory=dict)
    instances: dict[str, int] = field(default_factory=dict)

    @property
    def stack_total(self) -> int:
        return sum(self.stacks.values())

    @property
    def instance_total(self) -> int:
        return sum(self.instances.values())


def project_summaries(*, projects: list[Project]) -> list[ProjectSummary]:
    """Per project, its live stacks and instances counted by state (two queries in all)."""
    summaries = {project.pk: ProjectSummary(project) for project in projects}
    stack_counts = (
        Stack.objects.filter(project__in=summaries)
        .exclude(state=Stack.State.DELETED)
        .values_list("project_id", "state")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for project_id, state, count in stack_counts:
        summaries[project_id].stacks[state] = count
    instance_counts = (
        Instance.objects.filter(stack__project__in=summaries)
        .exclude(state=Instance.State.DELETED)
        .values_list("stack__project_id", "state")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for project_id, state, count in instance_counts:
        summaries[project_id].instances[state] = count
    return list(summaries.values())


def catalog_cached(*, project: Project) -> ProjectCatalog | None:
    """The project's catalog as last fetched, without asking the cloud; None if never."""
    return ProjectCatalog.objects.filter(project=project).first()


def flavor_names(catalog: ProjectCatalog | None) -> dict[str, str]:
    return {flavor["id"]: flavor["name"] for flavor in (catalog.flavors if catalog else [])}


def image_names(catalog: ProjectCatalog | None) -> dict[str, str]:
    return {image["id"]: image["name"] for image in (catalog.images if catalog else [])}


@dataclass(frozen=True)
class StackPrice:
    """What a stack of `count` servers of a flavor costs per hour at the prices in force."""

    flavor_id: str
    count: int
    unit: Decimal | None  # None: no price set for the flavor (nor a default)
    currency: str

    @property
    def total(self) -> Decimal | None:
        return None if self.unit is None else self.unit * self.count


def stack_hourly_price(
    *, flavor_id: str, count: int, currency: str, at: datetime | None = None
) -> StackPrice:
    """The hourly price of a stack before it is launched: count times the flavor's price now."""
    moment = to_us(at or timezone.now())
    try:
        periods = price_periods([flavor_id]) if flavor_id else []
    except PriceError:
        periods = []
    unit = next(
        (period.price for period in periods if period.start_us <= moment < period.end_us), None
    )
    return StackPrice(flavor_id, count, unit, currency)
