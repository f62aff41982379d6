"""A stack's whole life through the seed's endpoints and a real Celery worker, on both clouds:
built with floating IPs, listed, deleted without a trace, noticed when deleted behind the
portal's back, and failed with the cloud's own reason when the cloud refuses or a boot fails.
"""

import ipaddress
from collections import defaultdict

import pytest

from billing.models import InstanceEvent
from compute import tasks
from compute.models import Instance, Operation, Stack
from compute.tests.conftest import delete, launch, wait_for
from conformance.clouds import PRIVATE_CIDR, PUBLIC_CIDR

pytestmark = pytest.mark.usefixtures("worker")

NOTHING_LEFT = {"servers": [], "floating_ips": [], "ports": []}


def wait_for_stack(cloud, name: str, *states: str) -> Stack:
    def reached():
        stack = Stack.objects.get(name=name)
        return stack if stack.state in states else None

    return wait_for(
        reached, timeout=cloud.wait_seconds, interval=0.2, what=f"{name} to be {states}"
    )


def billed_states(stack_name: str) -> dict[str, list[str]]:
    """The states billing recorded for each server of a stack, in order."""
    states = defaultdict(list)
    events = InstanceEvent.objects.filter(instance__stack__name=stack_name).order_by("at_us", "id")
    for server_id, state in events.values_list("instance__server_id", "state"):
        states[server_id].append(state)
    return dict(states)


def wait_for_nothing_left(cloud):
    wait_for(
        lambda: cloud.leftovers() == NOTHING_LEFT,
        timeout=cloud.wait_seconds,
        interval=0.5,
        what="the cloud to hold nothing of devel's",
    )


def test_a_two_instance_stack_with_floating_ips_is_built_listed_and_deleted_leaving_nothing(
    client, tenant, cloud
):
    name = launch(client, tenant, instance_count="2", floating_ip="true")

    wait_for_stack(cloud, name, "ACTIVE")
    listed = client.get("/openstack/instances", **tenant.auth()).json()["data"][name]
    assert len(listed) == 2
    for instance in listed:
        assert ipaddress.ip_address(instance["ip"]) in PRIVATE_CIDR
        assert ipaddress.ip_address(instance["floating_ip"]) in PUBLIC_CIDR
    in_cloud = cloud.leftovers()
    assert sorted(in_cloud["servers"]) == sorted(i["uid"] for i in listed)
    assert len(in_cloud["floating_ips"]) == 2
    assert billed_states(name) == {uid: ["BUILD", "ACTIVE"] for uid in in_cloud["servers"]}

    assert delete(client, tenant, name).json()["status"] == 200
    wait_for_stack(cloud, name, "DELETED")

    assert cloud.leftovers() == NOTHING_LEFT
    assert name not in client.get("/openstack/instances", **tenant.auth()).json()["data"]
    assert set(Instance.objects.values_list("state", flat=True)) == {"DELETED"}
    assert billed_states(name) == {
        uid: ["BUILD", "ACTIVE", "DELETING", "DELETED"] for uid in in_cloud["servers"]
    }
    assert [op.state for op in Operation.objects.order_by("created")] == [
        "SUCCEEDED",
        "SUCCEEDED",
    ]


def test_reconciliation_notices_servers_deleted_or_stopped_with_the_openstack_client(
    client, tenant, cloud
):
    name = launch(client, tenant, instance_count="3")
    wait_for_stack(cloud, name, "ACTIVE")
    gone, stopped, kept = Instance.objects.filter(stack__name=name).order_by("name")

    cloud.openstack_client("server", "delete", "--wait", gone.server_id)
    cloud.openstack_client("server", "stop", stopped.server_id)
    wait_for(
        lambda: (
            {s.id: s.status for s in cloud.gateway().project_servers()}
            == {stopped.server_id: "SHUTOFF", kept.server_id: "ACTIVE"}
        ),
        timeout=cloud.wait_seconds,
        interval=0.5,
        what="the cloud to show one server gone and one stopped",
    )
    tasks.reconcile_project(tenant.project.pk)

    for instance in (gone, stopped, kept):
        instance.refresh_from_db()
    assert (gone.state, stopped.state, kept.state) == ("DELETED", "SHUTOFF", "ACTIVE")
    listed = client.get("/openstack/instances", **tenant.auth()).json()["data"][name]
    assert sorted(i["uid"] for i in listed) == sorted([stopped.server_id, kept.server_id])


def test_a_stack_over_the_clouds_own_quota_fails_with_novas_message_and_leaks_nothing(
    client, tenant, cloud
):
    # The portal checks its cached limits (10 instances) first; the cloud now allows 1, so
    # Nova itself refuses the multi-create of 2 (min_count = max_count = 2) with a 403.
    catalog = client.get("/openstack/flavors", {"project_name": "devel"}, **tenant.auth())
    assert catalog.status_code == 200
    cloud.set_instances_quota(1)

    name = launch(client, tenant, instance_count="2")
    stack = wait_for_stack(cloud, name, "FAILED")

    assert stack.error == (
        "Quota exceeded for instances: Requested 2, but already used 0 of 1 instances"
    )
    assert stack.operations.get().state == "FAILED"
    wait_for_nothing_left(cloud)


def test_a_stack_whose_boot_fails_is_failed_with_the_clouds_fault_and_leaks_nothing(
    client, tenant, cloud
):
    name = launch(client, tenant, instance_count="1", flavor_id=cloud.flavor_whose_boots_fail())
    stack = wait_for_stack(cloud, name, "FAILED")

    assert stack.error.startswith("1 of 1 server(s) failed: ")
    assert "aborted" in stack.error
    wait_for_nothing_left(cloud)


@pytest.mark.parametrize("policy", ["rollback", "keep"])
def test_a_partial_failure_ends_as_the_policy_says_and_leaks_nothing(
    client, tenant, cloud, settings, policy
):
    settings.STACK_PARTIAL_FAILURE_POLICY = policy

    name = launch(
        client, tenant, instance_count="2", flavor_id=cloud.flavor_that_fails_one_of_two()
    )
    stack = wait_for_stack(cloud, name, "FAILED")

    assert stack.error.startswith("1 of 2 server(s) failed: ")
    kept = list(stack.instances.exclude(state="DELETED").values_list("server_id", "state"))
    if policy == "rollback":
        assert kept == []
        wait_for_nothing_left(cloud)
    else:
        assert [state for _, state in kept] == ["ACTIVE"]
        wait_for(
            lambda: cloud.leftovers()["servers"] == [kept[0][0]],
            timeout=cloud.wait_seconds,
            what="only the good server to remain",
        )
        assert delete(client, tenant, name).json()["status"] == 200
        wait_for_stack(cloud, name, "DELETED")
        wait_for_nothing_left(cloud)
