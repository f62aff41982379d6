"""The tenant's billing pages and the operators' billing admin."""

import re
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from accounts.tests.factories import MembershipFactory, TenantFactory, UserFactory
from billing import services
from billing.tests.conftest import history, price, utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client, project):
    person = UserFactory()
    MembershipFactory(tenant=project.tenant, user=person, role=Membership.Role.VIEWER)
    client.force_login(person)
    return person


def test_the_dashboard_shows_cost_to_date_forecast_chart_tops_and_statements(
    client, project, member, make_instance
):
    price("1", "1.00", utc(2020, 1, 1))
    web = make_instance("web-1")
    history(web, (timezone.now() - timedelta(hours=3), "ACTIVE"))
    old = make_instance("old-1")
    history(old, (utc(2026, 10, 3), "ACTIVE"), (utc(2026, 10, 3, 2), "DELETED"))
    statement = services.statement_close(project=project, month=date(2026, 10, 1))

    page = client.get("/billing/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "devel" in text
    assert "forecast" in text
    assert "<svg" in text
    assert "<rect" in text
    assert "web-1" in text
    assert web.stack.name in text
    assert f"/billing/statements/{statement.pk}.csv" in text


def test_a_statement_prints_and_downloads_for_its_tenant_only(
    client, project, member, make_instance
):
    price("1", "1.00", utc(2020, 1, 1))
    history(make_instance(), (utc(2026, 10, 3), "ACTIVE"), (utc(2026, 10, 3, 2), "DELETED"))
    statement = services.statement_close(project=project, month=date(2026, 10, 1))

    printed = client.get(f"/billing/statements/{statement.pk}/")
    downloaded = client.get(f"/billing/statements/{statement.pk}.csv")

    assert printed.status_code == 200
    for expected in ("acme", "devel", "October 2026", "EUR", "2.00"):
        assert expected in printed.content.decode()
    assert downloaded.status_code == 200

    outsider = UserFactory()
    MembershipFactory(tenant=TenantFactory(name="globex"), user=outsider)
    client.force_login(outsider)
    assert client.get(f"/billing/statements/{statement.pk}/").status_code == 404
    assert client.get(f"/billing/statements/{statement.pk}.csv").status_code == 404


def test_the_pages_need_a_sign_in(client, project):
    response = client.get("/billing/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_operators_see_prices_statements_and_revenue_per_tenant(client, project, make_instance):
    price("1", "1.00", utc(2020, 1, 1))
    history(make_instance(), (utc(2026, 10, 3), "ACTIVE"), (utc(2026, 10, 3, 2), "DELETED"))
    statement = services.statement_close(project=project, month=date(2026, 10, 1))
    operator = get_user_model().objects.create_superuser("op", "op@example.test", "pw")
    client.force_login(operator)

    revenue = client.get("/admin/billing/statement/revenue/")

    assert revenue.status_code == 200
    assert "acme" in revenue.content.decode()
    assert "2.00" in revenue.content.decode()
    for url in (
        "/admin/billing/flavorprice/",
        "/admin/billing/statement/",
        f"/admin/billing/statement/{statement.pk}/change/",
        "/admin/billing/instanceevent/",
    ):
        assert client.get(url).status_code == 200


def test_the_dashboard_asks_as_many_queries_for_twenty_stacks_as_for_one(
    client, project, member, make_instance
):
    price("1", "1.00", utc(2020, 1, 1))
    started = timezone.now() - timedelta(hours=2)
    history(make_instance("web-0"), (started, "ACTIVE"))
    with CaptureQueriesContext(connection) as one:
        assert client.get("/billing/").status_code == 200
    for number in range(1, 20):
        history(make_instance(f"web-{number}"), (started, "ACTIVE"))
    with CaptureQueriesContext(connection) as twenty:
        page = client.get("/billing/")

    assert page.status_code == 200
    assert "40.00" in page.content.decode()  # twenty servers, two hours each at 1.00
    assert len(twenty) == len(one)


def test_a_price_in_another_currency_is_explained_in_its_projects_card_not_a_500(
    client, project, member, make_instance
):
    from compute.models import Project

    price("1", "1.00", utc(2020, 1, 1))
    price("9", "1.00", utc(2020, 1, 1), currency="USD")
    history(
        make_instance("dollar-1", flavor_id="9"), (timezone.now() - timedelta(hours=2), "ACTIVE")
    )
    other = Project.objects.create(tenant=project.tenant, cloud=project.cloud, name="other")
    fine = make_instance("fine-1")
    fine.stack.project = other
    fine.stack.save()
    history(fine, (timezone.now() - timedelta(hours=2), "ACTIVE"))

    page = client.get("/billing/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "Prices of 9 are not in EUR." in text
    assert "fine-1" in text  # the other project's card is whole


def test_an_instance_whose_price_changed_this_month_is_one_top_instance_with_its_whole_cost(
    client, project, member, make_instance
):
    now = timezone.now()
    price("1", "1.00", utc(2020, 1, 1))
    price("1", "3.00", now - timedelta(hours=1))  # a past change, as a fixture may write it
    web = make_instance("web-1")
    history(web, (now - timedelta(hours=3), "ACTIVE"))
    whole = services.money(
        sum(line.cost for line in services.month_usage(project=project, month=now.date()).lines)
    )

    text = client.get("/billing/").content.decode()

    rows = re.findall(r"<tr><td>web-1</td>.*?</tr>", text)
    assert len(rows) == 1
    assert f'<td class="text-end">{whole}</td>' in rows[0]


def test_a_person_in_no_tenant_sees_no_bill(client, project):
    client.force_login(UserFactory())

    page = client.get("/billing/")

    assert page.status_code == 403
    assert "You belong to no tenant yet" in page.content.decode()
