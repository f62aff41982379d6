"""Metering, usage and statements.

Usage is computed in SQL over the state history: each event opens a span that the instance's
next event closes (a window function), billable spans are cut at every price change and at
the edges of the asked periods, and the microseconds are summed per instance, price and
period. Only the handful of price rows is prepared in Python. Time is counted in integer
microseconds, so splitting a period anywhere changes no total.
"""

import calendar
import csv
import io
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Min, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from billing.models import FlavorPrice, InstanceEvent, Statement, StatementLine, to_us
from compute.models import Instance, Project

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
US_PER_HOUR = Decimal(3_600_000_000)
US_PER_SECOND = Decimal(1_000_000)
# Bounds of "for ever" in epoch microseconds, well inside a signed 64-bit integer.
NEVER_BEFORE = -(2**62)
NEVER_AFTER = 2**62
# How long before a statement closed an event may have been written and still not be seen by
# it (its transaction not yet committed); far longer than metering's one-row transactions.
LATE_EVENT_GRACE = timedelta(hours=1)


def money(amount: Decimal) -> Decimal:
    """The one rounding rule: half up, to the cent, applied once per statement line."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def exact_cost(microseconds: int, price_per_hour: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 60
        return Decimal(microseconds) * price_per_hour / US_PER_HOUR


# --- metering -------------------------------------------------------------------------------


def instance_event_record(*, instance: Instance, state: str, at: datetime) -> bool:
    """Record that an instance entered a state at a moment; a replay records nothing.

    Returns whether the event was new.
    """
    key = f"{instance.server_id}:{state}:{to_us(at)}"
    try:
        with transaction.atomic():
            InstanceEvent.objects.create(
                instance=instance,
                project_id=instance.stack.project_id,
                flavor_id=instance.flavor_id,
                state=state,
                at=at,
                key=key,
            )
    except IntegrityError:
        return False
    return True


# --- prices ---------------------------------------------------------------------------------


class PriceError(ValueError):
    """The prices cannot bill this usage as they are."""


@dataclass(frozen=True)
class PricePeriod:
    """A flavor's price over [start_us, end_us); `price` None means no price was set."""

    flavor_id: str
    price: Decimal | None
    start_us: int
    end_us: int


def price_periods(flavor_ids: list[str]) -> list[PricePeriod]:
    """For each flavor, its price over all time: the default price until the flavor has a
    price of its own, then its own prices, each until the next."""
    rows = list(
        FlavorPrice.objects.filter(flavor_id__in=[*flavor_ids, FlavorPrice.DEFAULT_FLAVOR])
        .order_by("effective_from")
        .values_list("flavor_id", "effective_from", "price_per_hour", "currency")
    )
    foreign = {flavor for flavor, _, _, currency in rows if currency != settings.BILLING_CURRENCY}
    if foreign:
        raise PriceError(
            f"Prices of {', '.join(sorted(foreign))} are not in {settings.BILLING_CURRENCY}."
        )
    rows = [(flavor, at, price) for flavor, at, price, _ in rows]
    defaults = [(to_us(at), price) for flavor, at, price in rows if flavor == "*"]
    periods = []
    for flavor_id in sorted(set(flavor_ids)):
        own = [(to_us(at), price) for flavor, at, price in rows if flavor == flavor_id]
        own_from = own[0][0] if own else NEVER_AFTER
        changes = [(NEVER_BEFORE, None)] + [d for d in defaults if d[0] < own_from] + own
        ends = [start for start, _ in changes[1:]] + [NEVER_AFTER]
        for (start, price), end in zip(changes, ends, strict=True):
            if end > start:
                periods.append(PricePeriod(flavor_id, price, start, end))
    return periods


# --- usage ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsagePiece:
    """Billable microseconds of one instance at one price within one asked period."""

    instance_id: int
    bucket: int
    price: PricePeriod
    microseconds: int

    @property
    def cost(self) -> Decimal:
        return exact_cost(self.microseconds, self.price.price or Decimal(0))


def _billable_states() -> list[str]:
    return list(settings.BILLING_BILLABLE_STATES)


def usage_pieces(
    *, project: Project, buckets: list[tuple[datetime, datetime]]
) -> list[UsagePiece]:
    """Billable time per instance, price and bucket (each a [from, to) period), in one query."""
    if not buckets:
        return []
    # An instance keeps its flavor, so the project's instances name every flavor its events
    # carry, from a table a hundred times smaller than the history.
    flavor_ids = list(
        Instance.objects.filter(stack__project=project)
        .order_by()
        .values_list("flavor_id", flat=True)
        .distinct()
    )
    if not flavor_ids:
        return []
    periods = price_periods(flavor_ids)
    bounds = [(to_us(start), to_us(end)) for start, end in buckets]
    horizon = max(end for _, end in bounds)

    greatest, least = (
        ("GREATEST", "LEAST") if connection.vendor == "postgresql" else ("MAX", "MIN")
    )
    price_rows = ", ".join(["(%s, %s, %s, %s)"] * len(periods))
    bucket_rows = ", ".join(["(%s, %s, %s)"] * len(bounds))
    states = ", ".join(["%s"] * len(_billable_states()))
    sql = f"""
        WITH prices (pidx, flavor_id, p_from, p_to) AS (VALUES {price_rows}),
        buckets (bidx, b_from, b_to) AS (VALUES {bucket_rows}),
        events AS (
            SELECT instance_id, flavor_id, state, at_us,
                   LEAD(at_us) OVER (PARTITION BY instance_id ORDER BY at_us, id) AS next_us
            FROM billing_instanceevent
            WHERE project_id = %s AND at_us < %s
        ),
        spans AS (
            SELECT instance_id, flavor_id, at_us AS s, COALESCE(next_us, %s) AS t
            FROM events WHERE state IN ({states})
        )
        SELECT sp.instance_id, b.bidx, pr.pidx,
               SUM({least}(sp.t, pr.p_to, b.b_to) - {greatest}(sp.s, pr.p_from, b.b_from))
        FROM spans sp
        JOIN prices pr ON pr.flavor_id = sp.flavor_id AND pr.p_from < sp.t AND pr.p_to > sp.s
        JOIN buckets b ON b.b_from < sp.t AND b.b_to > sp.s
        WHERE {least}(sp.t, pr.p_to, b.b_to) > {greatest}(sp.s, pr.p_from, b.b_from)
        GROUP BY sp.instance_id, b.bidx, pr.pidx
    """  # noqa: S608 - only placeholders and fixed names are formatted in
    params = []
    for index, period in enumerate(periods):
        params += [index, period.flavor_id, period.start_us, period.end_us]
    for index, (start, end) in enumerate(bounds):
        params += [index, start, end]
    params += [project.pk, horizon, horizon, *_billable_states()]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        UsagePiece(instance_id, bucket, periods[price_index], int(microseconds))
        for instance_id, bucket, price_index, microseconds in rows
    ]


@dataclass
class UsageLine:
    """An instance at one price over a period, with its exact cost."""

    instance: Instance
    price: Decimal | None
    microseconds: int
    cost: Decimal

    @property
    def seconds(self) -> Decimal:
        return Decimal(self.microseconds) / US_PER_SECOND


def usage_lines(*, project: Project, start: datetime, end: datetime) -> list[UsageLine]:
    """One line per instance and price for [start, end), costs unrounded, ordered for reading."""
    pieces = usage_pieces(project=project, buckets=[(start, end)])
    merged: dict[tuple[int, Decimal | None], int] = {}
    for piece in pieces:
        key = (piece.instance_id, piece.price.price)
        merged[key] = merged.get(key, 0) + piece.microseconds
    instances = Instance.objects.select_related("stack").in_bulk({i for i, _ in merged})
    lines = [
        UsageLine(instances[instance_id], price, us, exact_cost(us, price or Decimal(0)))
        for (instance_id, price), us in merged.items()
    ]
    lines.sort(key=lambda line: (line.instance.stack.name, line.instance.name, line.price or 0))
    return lines


def month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    days = calendar.monthrange(month.year, month.month)[1]
    return start, start + timedelta(days=days)


@dataclass
class MonthUsage:
    project: Project
    start: datetime
    end: datetime
    until: datetime
    lines: list[UsageLine]
    total: Decimal
    forecast: Decimal | None
    hourly_rate: Decimal

    @property
    def currency(self) -> str:
        return settings.BILLING_CURRENCY


def month_usage(*, project: Project, month: date, now: datetime | None = None) -> MonthUsage:
    """A month's usage per instance; for the current month, cost to date and a forecast to
    its end at the rate of what runs now."""
    now = now or timezone.now()
    start, end = month_bounds(month)
    until = min(end, max(now, start))
    lines = usage_lines(project=project, start=start, end=until)
    total = sum((money(line.cost) for line in lines), Decimal(0))
    rate = current_hourly_rate(project=project, at=now) if start <= now < end else Decimal(0)
    forecast = None
    if start <= now < end:
        remaining = Decimal(to_us(end) - to_us(now)) / US_PER_HOUR
        forecast = money(total + rate * remaining)
    return MonthUsage(project, start, end, until, lines, total, forecast, rate)


def current_hourly_rate(*, project: Project, at: datetime) -> Decimal:
    """What the project's instances in billable states cost per hour at a moment."""
    moment = to_us(at)
    latest = (
        InstanceEvent.objects.filter(project=project, at_us__lte=moment)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("instance_id"),
                order_by=[F("at_us").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .values_list("flavor_id", "state")
    )
    running = [flavor for flavor, state in latest if state in _billable_states()]
    if not running:
        return Decimal(0)
    prices = {
        p.flavor_id: p.price or Decimal(0)
        for p in price_periods(running)
        if p.start_us <= moment < p.end_us
    }
    return sum((prices.get(flavor, Decimal(0)) for flavor in running), Decimal(0))


def daily_costs(*, project: Project, month: date, now: datetime | None = None):
    """The cost of each day of a month (to date), rounded per day for display."""
    now = now or timezone.now()
    start, end = month_bounds(month)
    days = []
    cursor = start
    while cursor < end and cursor < now:
        days.append((cursor, min(cursor + timedelta(days=1), now)))
        cursor += timedelta(days=1)
    totals = [Decimal(0)] * len(days)
    for piece in usage_pieces(project=project, buckets=days):
        totals[piece.bucket] += piece.cost
    return [(day.date(), money(total)) for (day, _), total in zip(days, totals, strict=True)]


# --- statements -----------------------------------------------------------------------------


def statement_close(*, project: Project, month: date) -> Statement:
    """Make the project's statement for a month that has ended; making it again returns it.

    Late events that changed an earlier closed month are billed as adjustment lines here.
    """
    existing = Statement.objects.filter(project=project, period_start=month.replace(day=1))
    if existing.exists():
        return existing.get()
    start, end = month_bounds(month)
    if end > timezone.now():
        raise ValueError(f"{month:%Y-%m} has not ended yet.")

    try:
        with transaction.atomic():
            statement = Statement.objects.create(
                project=project,
                period_start=start.date(),
                period_end=end.date(),
                currency=settings.BILLING_CURRENCY,
                closed=timezone.now(),
            )
            lines = [
                _usage_line(statement, line)
                for line in usage_lines(project=project, start=start, end=end)
            ]
            lines += _adjustment_lines(statement)
            StatementLine.objects.bulk_create(lines)
            statement.total = sum((line.amount for line in lines), Decimal(0))
            statement.save(update_fields=["total"])
    except IntegrityError:
        # Made at the same moment by another worker: theirs is the statement.
        return Statement.objects.get(project=project, period_start=start.date())
    logger.info(
        "Statement closed project=%s tenant=%s month=%s total=%s",
        project.name,
        project.tenant_id,
        f"{month:%Y-%m}",
        statement.total,
    )
    return statement


def _usage_line(statement: Statement, line: UsageLine) -> StatementLine:
    instance = line.instance
    return StatementLine(
        statement=statement,
        kind=StatementLine.Kind.USAGE,
        instance=instance,
        server_id=instance.server_id,
        instance_name=instance.name,
        stack_name=instance.stack.name,
        flavor_id=instance.flavor_id,
        price_per_hour=line.price,
        seconds=line.seconds,
        amount=money(line.cost),
        description="" if line.price is not None else "No price was set for this flavor.",
    )


def _adjustment_lines(statement: Statement) -> list[StatementLine]:
    """One line per earlier closed month whose usage changed after it was closed."""
    adjustments = []
    earlier = Statement.objects.filter(
        project=statement.project, period_start__lt=statement.period_start
    ).exclude(pk=statement.pk)
    for closed in earlier.order_by("period_start"):
        # `recorded` is set when an event is written, not when its transaction commits: an
        # event written just before a month closed may become visible just after, unseen by
        # that statement. Looking back a grace period catches it; the comparison below is
        # exact, so an event that the statement did see adds nothing.
        # Limitation: an event whose transaction stays open longer than the grace period
        # after a month closes is never billed.
        late = InstanceEvent.objects.filter(
            project=statement.project,
            recorded__gt=closed.closed - LATE_EVENT_GRACE,
            at_us__lt=to_us(month_bounds(closed.period_start)[1]),
        )
        if not late.exists():
            continue
        start, end = month_bounds(closed.period_start)
        now_due = sum(
            (
                money(line.cost)
                for line in usage_lines(project=closed.project, start=start, end=end)
            ),
            Decimal(0),
        )
        billed = closed.total + sum(
            (line.amount for line in StatementLine.objects.filter(adjusts=closed)), Decimal(0)
        )
        if now_due != billed:
            adjustments.append(
                StatementLine(
                    statement=statement,
                    kind=StatementLine.Kind.ADJUSTMENT,
                    adjusts=closed,
                    amount=now_due - billed,
                    description=f"Usage of {closed.period_start:%Y-%m} reported after it closed.",
                )
            )
    return adjustments


def projects_to_bill():
    return Project.objects.filter(pk__in=InstanceEvent.objects.values("project_id"))


def months_to_close(*, project: Project, now: datetime | None = None) -> list[date]:
    """The ended months since the project's first recorded state change that have no
    statement yet, oldest first: a month missed while beat was down or while the project
    could not be billed is still closed later, before the months after it."""
    now = now or timezone.now()
    first = InstanceEvent.objects.filter(project=project).aggregate(first=Min("at"))["first"]
    if first is None:
        return []
    closed = set(Statement.objects.filter(project=project).values_list("period_start", flat=True))
    months = []
    month = first.astimezone(UTC).date().replace(day=1)
    while month_bounds(month)[1] <= now:
        if month not in closed:
            months.append(month)
        month = month_bounds(month)[1].date()
    return months


# --- exports --------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A spreadsheet-safe cell: a number as a plain number, so that a negative amount stays a
    number; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, Decimal | int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def statement_csv(*, statement: Statement) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    project = statement.project
    writer.writerow([_cell(v) for v in ("tenant", project.tenant.name)])
    writer.writerow([_cell(v) for v in ("project", project.name)])
    writer.writerow([_cell(v) for v in ("period", f"{statement.period_start:%Y-%m}")])
    writer.writerow([_cell(v) for v in ("currency", statement.currency)])
    writer.writerow([])
    writer.writerow(
        ["kind", "stack", "instance", "server id", "flavor", "price per hour", "hours", "amount"]
    )
    for line in statement.lines.all():
        hours = (line.seconds / 3600).quantize(Decimal("0.0001")) if line.seconds else ""
        writer.writerow(
            [
                _cell(v)
                for v in (
                    line.kind,
                    line.stack_name,
                    line.instance_name or line.description,
                    line.server_id,
                    line.flavor_id,
                    line.price_per_hour if line.price_per_hour is not None else "",
                    hours,
                    money(line.amount),
                )
            ]
        )
    writer.writerow([_cell(v) for v in ("total", "", "", "", "", "", "", money(statement.total))])
    return buffer.getvalue()
