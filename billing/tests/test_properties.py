"""Properties of usage over random state histories and price changes (hypothesis).

The SQL computation is held to a plain Python reference written independently: walk each
instance's events in order, cut the billable spans at every price change, add up.
"""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import services
from billing.models import FlavorPrice, InstanceEvent, Statement, StatementLine, to_us
from billing.tests.conftest import utc

pytestmark = pytest.mark.django_db

MONTH_START, MONTH_END = utc(2026, 11, 1), utc(2026, 12, 1)
SPAN = int((MONTH_END - MONTH_START).total_seconds())
STATES = ["BUILD", "ACTIVE", "SHUTOFF", "PAUSED", "ERROR", "DELETED"]
FLAVORS = ["1", "2"]

moments = st.integers(min_value=-3 * 86400, max_value=SPAN + 3 * 86400).map(
    lambda seconds: MONTH_START + timedelta(seconds=seconds, microseconds=seconds % 7 * 1000)
)
prices = st.decimals(min_value=0, max_value=50, places=4, allow_nan=False, allow_infinity=False)
histories = st.lists(
    st.lists(st.tuples(moments, st.sampled_from(STATES)), min_size=1, max_size=8),
    min_size=1,
    max_size=3,
)
price_changes = st.lists(
    st.tuples(st.sampled_from([*FLAVORS, "*"]), moments, prices), min_size=0, max_size=5
)
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def instances(make_instance):
    return [make_instance(f"vm-{n}", flavor_id=FLAVORS[n % 2]) for n in range(3)]


def _load(instances, history_lists, changes):
    InstanceEvent.objects.all().delete()
    FlavorPrice.objects.all().delete()
    seen = set()
    for flavor, at, amount in changes:
        if (flavor, at) not in seen:
            seen.add((flavor, at))
            FlavorPrice.objects.create(
                flavor_id=flavor, price_per_hour=amount, currency="EUR", effective_from=at
            )
    for instance, events in zip(instances, history_lists, strict=False):
        for at, state in events:
            services.instance_event_record(instance=instance, state=state, at=at)


def _reference(instances, start, end, billable) -> dict[tuple[int, Decimal], int]:
    """Microseconds per (instance, price), by walking events and prices in Python."""
    rows = list(FlavorPrice.objects.order_by("effective_from"))

    def price_at(flavor, moment):
        own = [r for r in rows if r.flavor_id == flavor and r.effective_from <= moment]
        if own:
            return own[-1].price_per_hour
        default = [r for r in rows if r.flavor_id == "*" and r.effective_from <= moment]
        return default[-1].price_per_hour if default else None

    totals = defaultdict(int)
    for instance in instances:
        events = sorted(
            InstanceEvent.objects.filter(instance=instance).values_list("at", "id", "state")
        )
        for (at, _, state), following in zip(events, [*events[1:], None], strict=False):
            if state not in billable:
                continue
            span_start = max(at, start)
            span_end = min(following[0] if following else end, end)
            if span_end <= span_start:
                continue
            cuts = sorted(
                {span_start, span_end}
                | {r.effective_from for r in rows if span_start < r.effective_from < span_end}
            )
            for piece_start, piece_end in pairwise(cuts):
                if piece_end > piece_start:
                    key = (instance.pk, price_at(instance.flavor_id, piece_start))
                    totals[key] += to_us(piece_end) - to_us(piece_start)
    return dict(totals)


def _sql(project, start, end) -> dict[tuple[int, Decimal], int]:
    totals = defaultdict(int)
    for piece in services.usage_pieces(project=project, buckets=[(start, end)]):
        totals[(piece.instance_id, piece.price.price)] += piece.microseconds
    return dict(totals)


def _cents(totals) -> Decimal:
    return sum(
        (
            services.money(services.exact_cost(us, price or Decimal(0)))
            for (_, price), us in totals.items()
        ),
        Decimal(0),
    )


@EXAMPLES
@given(history_lists=histories, changes=price_changes)
def test_the_sql_usage_equals_a_plain_python_reference_to_the_cent(
    project, instances, history_lists, changes, settings
):
    _load(instances, history_lists, changes)

    sql = {key: us for key, us in _sql(project, MONTH_START, MONTH_END).items() if us}
    reference = {
        key: us
        for key, us in _reference(
            instances, MONTH_START, MONTH_END, settings.BILLING_BILLABLE_STATES
        ).items()
        if us
    }

    assert sql == reference
    assert _cents(sql) == _cents(reference)


@EXAMPLES
@given(history_lists=histories, changes=price_changes)
def test_the_days_of_a_month_add_up_to_the_month(project, instances, history_lists, changes):
    _load(instances, history_lists, changes)
    days = [
        (MONTH_START + timedelta(days=n), MONTH_START + timedelta(days=n + 1)) for n in range(30)
    ]

    by_day = defaultdict(int)
    for piece in services.usage_pieces(project=project, buckets=days):
        by_day[(piece.instance_id, piece.price.price)] += piece.microseconds

    assert dict(by_day) == _sql(project, MONTH_START, MONTH_END)


@EXAMPLES
@given(
    history_lists=histories,
    changes=price_changes,
    cut=st.integers(min_value=1, max_value=SPAN - 1),
)
def test_splitting_the_period_anywhere_changes_no_total(
    project, instances, history_lists, changes, cut
):
    _load(instances, history_lists, changes)
    middle = MONTH_START + timedelta(seconds=cut, microseconds=cut % 1000)

    halves = defaultdict(int)
    for start, end in ((MONTH_START, middle), (middle, MONTH_END)):
        for key, us in _sql(project, start, end).items():
            halves[key] += us

    assert dict(halves) == _sql(project, MONTH_START, MONTH_END)


@EXAMPLES
@given(history_lists=histories, changes=price_changes)
def test_replaying_every_event_changes_nothing_and_no_interval_counts_twice(
    project, instances, history_lists, changes
):
    _load(instances, history_lists, changes)
    before = _sql(project, MONTH_START, MONTH_END)

    for instance, events in zip(instances, history_lists, strict=False):
        for at, state in events:
            assert not services.instance_event_record(instance=instance, state=state, at=at)

    assert _sql(project, MONTH_START, MONTH_END) == before
    per_instance = defaultdict(int)
    for (instance_id, _), us in before.items():
        per_instance[instance_id] += us
    assert all(us <= SPAN * 1_000_000 for us in per_instance.values())


OCTOBER_START, OCTOBER_END = utc(2026, 10, 1), utc(2026, 11, 1)
october_moments = st.integers(min_value=-3 * 86400, max_value=34 * 86400).map(
    lambda seconds: OCTOBER_START + timedelta(seconds=seconds, microseconds=seconds % 7 * 1000)
)
late_events = st.lists(
    st.tuples(st.integers(0, 2), october_moments, st.sampled_from(STATES)), max_size=6
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history_lists=st.lists(
        st.lists(st.tuples(october_moments, st.sampled_from(STATES)), min_size=1, max_size=8),
        min_size=1,
        max_size=3,
    ),
    changes=price_changes,
    late=late_events,
)
def test_a_closed_month_and_its_adjustments_add_up_to_its_usage_from_the_whole_history(
    project, instances, history_lists, changes, late, settings
):
    """October is closed, events of October arrive late, November is closed: October's total
    plus November's adjustment lines for October equals, to the cent, October's usage
    reckoned afresh from the whole history, each (instance, price) line rounded once, as the
    one rounding rule says."""
    StatementLine.objects.all().delete()
    Statement.objects.all().delete()
    _load(instances, history_lists, changes)
    october = services.statement_close(project=project, month=OCTOBER_START.date())

    for index, at, state in late:
        services.instance_event_record(instance=instances[index], state=state, at=at)
    november = services.statement_close(project=project, month=OCTOBER_END.date())

    adjustments = november.lines.filter(kind="ADJUSTMENT", adjusts=october)
    billed = october.total + sum((line.amount for line in adjustments), Decimal(0))
    reference = _reference(instances, OCTOBER_START, OCTOBER_END, settings.BILLING_BILLABLE_STATES)
    assert billed == _cents(reference)
    assert adjustments.count() <= 1
