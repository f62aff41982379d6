"""The seed's billing endpoint and the usage and statement endpoints."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import ApiClientFactory, TenantFactory, issue_token
from billing import services
from billing.tests.conftest import history, price, utc
from compute.models import Project

pytestmark = pytest.mark.django_db


def get(client, token, url, **params):
    return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_billing_instances_has_the_seed_shape(client, project, token, make_instance):
    older = make_instance("instance_20170901141504289398-1")
    older.created = utc(2017, 9, 1, 18, 9, 59)
    older.save()
    newer = make_instance("instance_20170901141504290348-1")
    newer.created = utc(2017, 9, 1, 18, 25, 49)
    newer.save()
    gone = make_instance("gone-for-good")
    gone.state = "DELETED"
    gone.save()

    response = get(client, token, "/openstack/billing_instances", project_name="devel")

    assert response.json() == {
        "status": 200,
        "message": "success",
        "data": {
            "instances": [
                {
                    "id": newer.server_id,
                    "name": "instance_20170901141504290348-1",
                    "state": "ACTIVE",
                    "created": "2017-09-01T18:25:49.000Z",
                },
                {
                    "id": older.server_id,
                    "name": "instance_20170901141504289398-1",
                    "state": "ACTIVE",
                    "created": "2017-09-01T18:09:59.000Z",
                },
            ],
            "total": 2,
        },
    }


def test_billing_instances_without_project_name_is_400(client, token):
    response = get(client, token, "/openstack/billing_instances")
    assert response.status_code == 400
    assert "project_name" in response.json()["data"]["errors"]


def test_another_tenants_project_is_404_for_billing(client, project):
    other = issue_token(ApiClientFactory(tenant=TenantFactory(name="globex")))
    for url in ("/openstack/billing_instances", "/openstack/billing_usage"):
        response = get(client, other, url, project_name="devel")
        assert response.status_code == 404


def test_billing_needs_the_billing_scope(client, project):
    compute_only = issue_token(ApiClientFactory(tenant=project.tenant, scope="compute:read"))
    response = get(client, compute_only, "/openstack/billing_instances", project_name="devel")
    assert response.status_code == 403


def test_usage_of_a_past_month_per_instance_with_totals(client, project, token, make_instance):
    price("1", "0.10", utc(2026, 1, 1))
    web = make_instance()
    history(web, (utc(2026, 10, 3, 10), "ACTIVE"), (utc(2026, 10, 3, 11, 30), "DELETED"))

    data = get(client, token, "/openstack/billing_usage", project_name="devel", month="2026-10")
    data = data.json()["data"]

    assert data["currency"] == "EUR"
    assert data["total"] == "0.15"
    assert data["forecast"] is None
    assert data["instances"] == [
        {
            "id": web.server_id,
            "name": "web-1",
            "stack_name": web.stack.name,
            "flavor_id": "1",
            "price_per_hour": "0.1",
            "seconds": 5400,
            "hours": "1.5000",
            "cost": "0.15",
        }
    ]


def test_usage_of_the_current_month_gives_cost_to_date_and_a_forecast(
    client, project, token, make_instance
):
    price("1", "1.00", utc(2020, 1, 1))
    now = timezone.now()
    web = make_instance()
    history(web, (now - timedelta(hours=2), "ACTIVE"))

    data = get(client, token, "/openstack/billing_usage", project_name="devel").json()["data"]

    assert Decimal(data["total"]) >= Decimal("1.99")
    assert data["hourly_rate"] == "1.0000"
    month_end = services.month_bounds(now.date())[1]
    hours_left = Decimal((month_end - now).total_seconds()) / 3600
    assert abs(Decimal(data["forecast"]) - Decimal(data["total"]) - hours_left) < Decimal("0.05")


def test_a_rate_under_a_cent_an_hour_is_shown_not_rounded_away(
    client, project, token, make_instance
):
    price("1", "0.004", utc(2020, 1, 1))
    history(make_instance(), (timezone.now() - timedelta(hours=1), "ACTIVE"))

    data = get(client, token, "/openstack/billing_usage", project_name="devel").json()["data"]

    assert data["hourly_rate"] == "0.0040"


def test_a_bad_month_is_400(client, project, token):
    response = get(
        client, token, "/openstack/billing_usage", project_name="devel", month="2026-13"
    )
    assert response.status_code == 400
    assert "month" in response.json()["data"]["errors"]


@pytest.mark.parametrize("month", ["0000-01", "0001-01", "1969-12", "9999-12"])
def test_a_month_beyond_the_years_billing_can_count_is_400(client, project, token, month):
    response = get(client, token, "/openstack/billing_usage", project_name="devel", month=month)

    assert response.status_code == 400
    assert "month" in response.json()["data"]["errors"]


def test_statements_are_listed_and_downloadable_by_their_tenant_only(
    client, project, token, make_instance
):
    price("1", "1.00", utc(2026, 1, 1))
    history(make_instance(), (utc(2026, 10, 3), "ACTIVE"), (utc(2026, 10, 3, 2), "DELETED"))
    statement = services.statement_close(project=project, month=date(2026, 10, 1))

    listed = get(client, token, "/openstack/billing_statements", project_name="devel")
    (summary,) = listed.json()["data"]["statements"]
    assert (summary["month"], summary["total"], summary["currency"]) == ("2026-10", "2.00", "EUR")

    download = get(client, token, f"/openstack/billing_statements/{statement.pk}.csv")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert "devel-2026-10.csv" in download["Content-Disposition"]

    other = Project.objects.create(
        tenant=TenantFactory(name="globex"), cloud=project.cloud, name="x"
    )
    other_token = issue_token(ApiClientFactory(tenant=other.tenant))
    foreign = get(client, other_token, f"/openstack/billing_statements/{statement.pk}.csv")
    assert foreign.status_code == 404


@pytest.mark.parametrize("month", ["1970-01", "9998-12"])
def test_the_first_and_last_months_billing_can_count_are_answered(client, project, token, month):
    response = get(client, token, "/openstack/billing_usage", project_name="devel", month=month)

    assert response.status_code == 200
    assert response.json()["data"]["total"] == "0.00"


def test_usage_that_the_prices_cannot_bill_is_a_409_saying_why(
    client, project, token, make_instance
):
    make_instance("web-1")
    price("1", "0.10", utc(2020, 1, 1), currency="USD")

    response = get(client, token, "/openstack/billing_usage", project_name="devel")

    assert response.status_code == 409
    assert response.json() == {
        "status": 409,
        "message": "The prices cannot bill this project: Prices of 1 are not in EUR.",
        "data": {},
    }
