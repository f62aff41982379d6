"""The audit trail: who asked for what on which stack, shown to the tenant and in admin."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compute import services
from compute.models import AuditEvent, Stack
from compute.tests.conftest import delete, launch

pytestmark = pytest.mark.django_db


def test_create_and_delete_are_recorded_with_the_client_and_request_id(client, devel):
    name = launch(client, devel)
    response = client.delete(
        f"/openstack/delete_instances?project_name=devel&stack_name={name}",
        HTTP_X_REQUEST_ID="req-delete-1",
        **devel.auth(),
    )
    assert response.status_code == 200

    events = client.get("/openstack/audit", {"project_name": "devel"}, **devel.auth()).json()
    actions = [(e["action"], e["stack_name"], e["client_id"]) for e in events["data"]["events"]]
    assert actions == [
        ("stack.delete_requested", name, devel.client.client_id),
        ("stack.create_requested", name, devel.client.client_id),
    ]
    assert events["data"]["events"][0]["request_id"] == "req-delete-1"
    assert events["data"]["events"][1]["details"]["instance_count"] == 2
    detail = client.get(f"/openstack/stacks/{name}", **devel.auth()).json()["data"]
    assert [e["action"] for e in detail["audit"]] == [a for a, _, _ in actions]


def test_another_tenants_audit_trail_is_not_shown(client, devel, staging):
    name = launch(client, devel)

    theirs = client.get("/openstack/audit", **staging.auth()).json()["data"]["events"]
    by_stack = client.get("/openstack/audit", {"stack_name": name}, **staging.auth())

    assert theirs == []
    assert by_stack.status_code == 404


def test_an_operators_force_delete_is_credited_to_the_operator(client, devel):
    name = launch(client, devel)
    operator = User.objects.create_superuser("olga", password="pw")

    services.stack_delete(stack=Stack.objects.get(name=name), force=True, user=operator)

    event = AuditEvent.objects.filter(stack__name=name).first()
    assert (event.action, event.actor, event.actor_user) == (
        "stack.delete_requested",
        "user olga",
        operator,
    )
    assert event.details == {"forced": True}
    client.force_login(operator)
    page = client.get("/admin/compute/auditevent/")
    assert page.status_code == 200
    assert name in page.content.decode()


def test_the_audit_list_costs_the_same_queries_for_one_stack_or_five(client, devel):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/openstack/audit", **devel.auth()).status_code == 200
        return len(captured.captured_queries)

    launch(client, devel)
    one = queries()
    for _ in range(4):
        delete(client, devel, launch(client, devel))

    assert queries() == one
