"""The launch page: who launched is recorded, and a count the API refuses is refused here."""

import pytest

from accounts.models import Membership
from accounts.tests.factories import MembershipFactory, TenantFactory, UserFactory
from compute.models import AuditEvent, Cloud, Project, Stack
from compute.tests.factories import CIRROS, catalog_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    cloud = Cloud.objects.create(name="cloudsim")
    project = Project.objects.create(tenant=TenantFactory(name="acme"), cloud=cloud, name="devel")
    catalog_for(project)
    return project


@pytest.fixture
def person(client, project):
    person = UserFactory()
    MembershipFactory(tenant=project.tenant, user=person, role=Membership.Role.MEMBER)
    client.force_login(person)
    return person


def _launch(client, **overrides):
    body = {
        "image_id": CIRROS,
        "flavor_id": "1",
        "instance_count": "1",
        "user_name": "demo",
        **overrides,
    }
    return client.post("/projects/devel/launch/", body)


def test_a_launch_from_the_page_is_recorded_as_made_by_the_signed_in_person(client, person):
    response = _launch(client)

    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE_REQUESTED)
    assert event.actor_user == person
    assert event.actor_client is None
    assert event.actor == f"user {person.get_username()}"


@pytest.mark.parametrize("count", ["\u00b2", "\u0661", "9" * 5000])
def test_a_count_that_is_not_ascii_digits_is_refused_on_the_page(client, person, count):
    response = _launch(client, instance_count=count)

    assert response.status_code == 400
    assert "Must be a whole number." in response.content.decode()
    assert not Stack.objects.exists()
