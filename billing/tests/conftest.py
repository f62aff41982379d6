"""Billing fixtures: a project with instances whose history the tests write directly."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from accounts.tests.factories import ApiClientFactory, TenantFactory, issue_token
from billing.models import FlavorPrice, InstanceEvent
from compute.models import Cloud, Project
from compute.tests.factories import InstanceFactory, StackFactory


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def project(db):
    cloud = Cloud.objects.create(name="cloudsim")
    return Project.objects.create(tenant=TenantFactory(name="acme"), cloud=cloud, name="devel")


@pytest.fixture
def token(project):
    return issue_token(ApiClientFactory(tenant=project.tenant))


@pytest.fixture
def make_instance(project):
    def make(name="web-1", flavor_id="1", stack=None):
        stack = stack or StackFactory(project=project, flavor_id=flavor_id)
        return InstanceFactory(stack=stack, name=name, flavor_id=flavor_id)

    return make


def price(flavor_id: str, amount: str, at: datetime, currency: str = "EUR") -> FlavorPrice:
    return FlavorPrice.objects.create(
        flavor_id=flavor_id, price_per_hour=Decimal(amount), currency=currency, effective_from=at
    )


def history(instance, *changes) -> None:
    """Write (moment, state) changes of an instance, as metering would."""
    from billing.services import instance_event_record

    for at, state in changes:
        assert instance_event_record(instance=instance, state=state, at=at)


def events_of(instance) -> list[tuple[datetime, str]]:
    return list(InstanceEvent.objects.filter(instance=instance).values_list("at", "state"))
