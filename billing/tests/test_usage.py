"""Usage and statements with hand-computed expectations."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import services, tasks
from billing.models import InstanceEvent, Statement, StatementLine
from billing.tests.conftest import history, price, utc

pytestmark = pytest.mark.django_db
NOVEMBER = date(2026, 11, 1)
START, END = utc(2026, 11, 1), utc(2026, 12, 1)


def lines(project, start=START, end=END):
    return [
        (line.instance.name, line.price, line.seconds, services.money(line.cost))
        for line in services.usage_lines(project=project, start=start, end=end)
    ]


def test_ninety_minutes_active_at_ten_cents_an_hour_is_fifteen_cents(project, make_instance):
    price("1", "0.10", utc(2026, 1, 1))
    web = make_instance()
    history(
        web,
        (utc(2026, 11, 3, 9, 0), "BUILD"),
        (utc(2026, 11, 3, 10, 0), "ACTIVE"),
        (utc(2026, 11, 3, 11, 30), "DELETED"),
    )

    assert lines(project) == [("web-1", Decimal("0.10"), Decimal(5400), Decimal("0.15"))]


def test_a_price_change_mid_month_splits_the_line_and_never_applies_backwards(
    project, make_instance
):
    price("1", "0.10", utc(2026, 1, 1))
    price("1", "0.40", utc(2026, 11, 16))
    web = make_instance()
    history(web, (utc(2026, 11, 15, 23, 0), "ACTIVE"), (utc(2026, 11, 16, 2, 0), "DELETED"))

    assert lines(project) == [
        ("web-1", Decimal("0.10"), Decimal(3600), Decimal("0.10")),
        ("web-1", Decimal("0.40"), Decimal(7200), Decimal("0.80")),
    ]


def test_a_flavor_without_a_price_uses_the_default_until_it_gets_one(project, make_instance):
    price("*", "0.05", utc(2026, 1, 1))
    price("1", "1.00", utc(2026, 11, 2))
    web = make_instance()
    history(web, (utc(2026, 11, 1, 23, 0), "ACTIVE"), (utc(2026, 11, 2, 1, 0), "DELETED"))

    assert lines(project) == [
        ("web-1", Decimal("0.05"), Decimal(3600), Decimal("0.05")),
        ("web-1", Decimal("1.00"), Decimal(3600), Decimal("1.00")),
    ]


def test_shutoff_is_billed_by_default_and_not_when_the_setting_says_so(
    project, make_instance, settings
):
    price("1", "1.00", utc(2026, 1, 1))
    web = make_instance()
    history(
        web,
        (utc(2026, 11, 5, 0, 0), "ACTIVE"),
        (utc(2026, 11, 5, 1, 0), "SHUTOFF"),
        (utc(2026, 11, 5, 3, 0), "DELETED"),
    )
    assert lines(project)[0][2] == Decimal(3 * 3600)

    settings.BILLING_BILLABLE_STATES = ["ACTIVE"]
    assert lines(project)[0][2] == Decimal(3600)


def test_a_deleted_instance_stops_accruing_at_deletion(project, make_instance):
    price("1", "0.10", utc(2026, 1, 1))
    web = make_instance()
    history(web, (utc(2026, 11, 10), "ACTIVE"), (utc(2026, 11, 10, 0, 0, 42), "DELETING"))

    assert lines(project)[0][2] == Decimal(42)


def test_an_instance_running_across_the_month_boundary_is_split_between_months(
    project, make_instance
):
    price("1", "0.10", utc(2026, 1, 1))
    web = make_instance()
    history(web, (utc(2026, 10, 31, 23, 0), "ACTIVE"), (utc(2026, 11, 1, 2, 0), "DELETED"))

    october = lines(project, utc(2026, 10, 1), utc(2026, 11, 1))
    november = lines(project)
    assert (october[0][2], november[0][2]) == (Decimal(3600), Decimal(7200))


def test_a_statement_is_made_once_and_late_events_land_on_the_next(project, make_instance):
    price("1", "1.00", utc(2026, 1, 1))
    web, db = make_instance("web-1"), make_instance("db-1")
    history(web, (utc(2026, 10, 2), "ACTIVE"), (utc(2026, 10, 2, 2), "DELETED"))
    october = services.statement_close(project=project, month=date(2026, 10, 1))
    assert services.statement_close(project=project, month=date(2026, 10, 1)) == october
    assert october.total == Decimal("2.00")

    # An event of October reaches the portal after October closed.
    history(db, (utc(2026, 10, 30), "ACTIVE"), (utc(2026, 10, 30, 3), "DELETED"))
    november = services.statement_close(project=project, month=NOVEMBER)

    october.refresh_from_db()
    assert october.total == Decimal("2.00")
    assert [(line.kind, line.amount) for line in october.lines.all()] == [
        ("USAGE", Decimal("2.00"))
    ]
    adjustment = november.lines.get(kind="ADJUSTMENT")
    assert (adjustment.adjusts, adjustment.amount) == (october, Decimal("3.00"))
    assert november.total == Decimal("3.00")
    # Closing December does not bill the late October hours a second time.
    december = (
        services.statement_close(project=project, month=date(2026, 12, 1))
        if (timezone.now() > utc(2027, 1, 1))
        else None
    )
    assert december is None or not december.lines.filter(kind="ADJUSTMENT").exists()


def test_a_month_that_has_not_ended_gets_no_statement(project):
    with pytest.raises(ValueError, match="not ended"):
        services.statement_close(project=project, month=timezone.now().date())


@pytest.fixture
def broken_project(project, make_instance):
    """A project whose flavor is priced in another currency, named to be billed first."""
    from compute.models import Project

    broken = Project.objects.create(tenant=project.tenant, cloud=project.cloud, name="a-broken")
    price("1", "1.00", utc(2026, 1, 1))
    price("9", "1.00", utc(2026, 1, 1), currency="USD")
    history(make_instance("ok", flavor_id="1"), (utc(2026, 11, 2), "ACTIVE"))
    bad = make_instance("bad", flavor_id="9")
    bad.stack.project = broken
    bad.stack.save()
    history(bad, (utc(2026, 11, 2), "ACTIVE"))
    assert services.projects_to_bill().first() == broken
    return broken


@pytest.fixture
def eager_tasks():
    """Tasks run where they are queued, each on its own as a worker would run it."""
    from portal.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_one_project_with_broken_prices_does_not_stop_the_others(project, broken_project):
    failures = tasks.close_statements_for(month=NOVEMBER)

    assert failures == 1
    assert Statement.objects.get(project=project).total > 0
    assert not Statement.objects.filter(project=broken_project).exists()


def test_the_beat_task_bills_the_others_when_the_first_project_is_broken(
    project, broken_project, eager_tasks
):
    tasks.close_statements()

    assert Statement.objects.get(project=project, period_start=NOVEMBER).total > 0
    assert not Statement.objects.filter(project=broken_project).exists()


def test_months_never_closed_are_closed_later_oldest_first(project, make_instance):
    price("1", "1.00", utc(2026, 1, 1))
    for name, month, hours in (("sep", 9, 2), ("oct", 10, 3), ("nov", 11, 1)):
        history(
            make_instance(name),
            (utc(2026, month, 5), "ACTIVE"),
            (utc(2026, month, 5, hours), "DELETED"),
        )
    # October was closed by hand; September and November were missed (beat was down).
    services.statement_close(project=project, month=date(2026, 10, 1))

    tasks.close_statement(project.pk)
    tasks.close_statement(project.pk)  # a second run finds nothing left to close

    made = Statement.objects.filter(project=project).order_by("period_start")
    assert [(f"{s.period_start:%Y-%m}", s.total) for s in made] == [
        ("2026-09", Decimal("2.00")),
        ("2026-10", Decimal("3.00")),
        ("2026-11", Decimal("1.00")),
    ]
    assert not StatementLine.objects.filter(kind="ADJUSTMENT").exists()
    september, _, november = made
    assert september.closed < november.closed  # oldest first
    assert services.months_to_close(project=project) == []


def test_an_event_written_before_a_month_closed_but_seen_after_is_adjusted_next_month(
    project, make_instance
):
    price("1", "1.00", utc(2026, 1, 1))
    history(make_instance("web-1"), (utc(2026, 10, 2), "ACTIVE"), (utc(2026, 10, 2, 1), "DELETED"))
    october = services.statement_close(project=project, month=date(2026, 10, 1))
    # Its transaction committed after October closed, though it was written a moment before.
    history(make_instance("db-1"), (utc(2026, 10, 9), "ACTIVE"), (utc(2026, 10, 9, 4), "DELETED"))
    InstanceEvent.objects.filter(instance__name="db-1").update(
        recorded=october.closed - timedelta(seconds=5)
    )

    november = services.statement_close(project=project, month=NOVEMBER)

    adjustment = november.lines.get(kind="ADJUSTMENT")
    assert (adjustment.adjusts, adjustment.amount) == (october, Decimal("4.00"))


def test_the_csv_export_is_safe_from_spreadsheet_formulas(project, make_instance):
    price("1", "1.00", utc(2026, 1, 1))
    evil = make_instance('=HYPERLINK("http://evil")')
    history(evil, (utc(2026, 11, 2), "ACTIVE"), (utc(2026, 11, 2, 1), "DELETED"))
    statement = services.statement_close(project=project, month=NOVEMBER)

    text = services.statement_csv(statement=statement)

    assert "acme" in text
    assert "devel" in text
    assert "2026-11" in text
    assert "EUR" in text
    assert "'=HYPERLINK" in text
    assert "\n=" not in text
    assert ",=" not in text
    assert text.strip().endswith("1.00")


def test_a_negative_adjustment_is_a_number_in_the_csv_not_text(project, make_instance):
    price("1", "1.00", utc(2026, 1, 1))
    web = make_instance("web-1")
    history(web, (utc(2026, 10, 2), "ACTIVE"), (utc(2026, 10, 2, 10), "DELETED"))
    services.statement_close(project=project, month=date(2026, 10, 1))
    # Late news: the server was gone after two hours, not ten.
    history(web, (utc(2026, 10, 2, 2), "DELETED"))
    november = services.statement_close(project=project, month=NOVEMBER)

    text = services.statement_csv(statement=november)

    assert "ADJUSTMENT,,Usage of 2026-10 reported after it closed.,,,,,-8.00" in text
    assert text.strip().endswith("total,,,,,,,-8.00")
    assert "'-" not in text
