"""The operators' price admin: a change of price applies from its time on, never backwards."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.models import FlavorPrice
from billing.tests.conftest import price, utc

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/billing/flavorprice/add/"


@pytest.fixture
def operator(client):
    person = get_user_model().objects.create_superuser("op", "op@example.test", "pw")
    client.force_login(person)
    return person


def _form(at, currency="EUR", amount="10.00") -> dict:
    return {
        "flavor_id": "1",
        "price_per_hour": amount,
        "currency": currency,
        "effective_from_0": f"{at:%Y-%m-%d}",
        "effective_from_1": f"{at:%H:%M:%S}",
    }


def test_a_backdated_price_is_refused_and_the_closed_month_keeps_its_price(client, operator):
    price("1", "2.00", utc(2026, 1, 1))

    answer = client.post(ADD_URL, _form(utc(2026, 10, 1)))

    assert answer.status_code == 200  # the form again, with its error
    assert "applies from now on" in answer.content.decode()
    assert list(FlavorPrice.objects.values_list("price_per_hour", flat=True)) == [2]


def test_a_price_from_tomorrow_is_accepted(client, operator):
    tomorrow = timezone.now() + timedelta(days=1)

    answer = client.post(ADD_URL, _form(tomorrow))

    assert answer.status_code == 302
    assert FlavorPrice.objects.get().price_per_hour == 10


def test_a_price_in_another_currency_is_a_form_error(client, operator):
    tomorrow = timezone.now() + timedelta(days=1)

    answer = client.post(ADD_URL, _form(tomorrow, currency="USD"))

    assert answer.status_code == 200
    assert "Prices are in EUR" in answer.content.decode()
    assert not FlavorPrice.objects.exists()


def test_the_model_check_refuses_the_past_but_fixtures_may_still_write_it():
    past = price("1", "2.00", utc(2026, 1, 1))  # through the ORM, as a fixture or import would
    backdated = FlavorPrice(
        flavor_id="2", price_per_hour=1, currency="EUR", effective_from=utc(2026, 1, 1)
    )

    with pytest.raises(ValidationError, match="applies from now on"):
        backdated.full_clean()
    past.full_clean()  # an existing price is not re-judged by the clock


def test_a_price_in_force_cannot_be_deleted_but_a_future_one_can(client, operator):
    started = price("1", "2.00", utc(2026, 1, 1))
    future = price("1", "3.00", timezone.now() + timedelta(days=3))

    refused = client.post(f"/admin/billing/flavorprice/{started.pk}/delete/", {"post": "yes"})
    bulk = client.post(
        "/admin/billing/flavorprice/",
        {"action": "delete_selected", "_selected_action": [started.pk], "post": "yes"},
    )
    withdrawn = client.post(f"/admin/billing/flavorprice/{future.pk}/delete/", {"post": "yes"})

    assert refused.status_code == 403
    assert bulk.status_code in (200, 302, 403)
    assert withdrawn.status_code == 302
    assert list(FlavorPrice.objects.all()) == [started]
