"""A deletion the cloud keeps refusing: the stack ends FAILED with the cloud's reason, and the
tenant can ask again once the cloud is back, until nothing is left in the cloud."""

import pytest

from compute import tasks
from compute.models import Instance, Operation, Stack
from compute.tests.conftest import delete, launch, sim_project_state, wait_for, wait_for_stack

pytestmark = pytest.mark.usefixtures("worker")


def _refuse_server_deletes(sim):
    sim.control.fail_next("compute", method="DELETE", path=r"/servers/", action="503", count=None)


def test_a_failed_delete_fails_the_stack_with_the_reason_and_a_second_delete_finishes(
    client, devel, cloudsim
):
    name = launch(client, devel, instance_count="2", floating_ip="true")
    wait_for_stack(name, "ACTIVE")
    _refuse_server_deletes(cloudsim)

    assert delete(client, devel, name).json()["data"]["state"] == "DELETING"
    stack = wait_for_stack(name, "FAILED", "DELETED")

    assert stack.state == "FAILED"
    assert "Gave up after" in stack.error
    assert stack.operations.filter(kind="DELETE").get().state == "FAILED"
    shown = client.get(f"/openstack/stacks/{name}", **devel.auth()).json()["data"]
    assert shown["state"] == "FAILED"
    assert "Gave up after" in shown["error"]
    assert len(sim_project_state(cloudsim)["servers"]) == 2

    cloudsim.control.clear_faults()
    again = delete(client, devel, name)

    assert again.status_code == 200
    assert again.json()["data"]["state"] == "DELETING"
    wait_for_stack(name, "DELETED")
    assert Operation.objects.filter(stack__name=name, kind="DELETE").count() == 2
    state = sim_project_state(cloudsim)
    assert state["servers"] == []
    assert state["floating_ips"] == []


def test_a_delete_asked_twice_while_under_way_starts_one_operation(client, devel, cloudsim):
    name = launch(client, devel, instance_count="1")
    wait_for_stack(name, "ACTIVE")
    # A slow answer keeps the first deletion under way while the second is asked for.
    cloudsim.control.add_latency(0.5, service="compute", method="DELETE", path=r"/servers/")

    delete(client, devel, name)
    delete(client, devel, name)
    wait_for_stack(name, "DELETED")
    delete(client, devel, name)

    assert Operation.objects.filter(stack__name=name, kind="DELETE").count() == 1


def test_servers_a_failed_delete_left_are_reconciled_when_they_go(client, devel, cloudsim):
    name = launch(client, devel, instance_count="2")
    wait_for_stack(name, "ACTIVE")
    _refuse_server_deletes(cloudsim)
    delete(client, devel, name)
    wait_for_stack(name, "FAILED")
    cloudsim.control.clear_faults()
    # The cloud finished the deletion on its own after all.
    for instance in Instance.objects.filter(stack__name=name):
        cloudsim.control.server_delete(instance.server_id)

    tasks.reconcile_project(devel.project.pk)

    states = set(Instance.objects.filter(stack__name=name).values_list("state", flat=True))
    assert states == {"DELETED"}
    wait_for(lambda: Stack.objects.get(name=name).state == "DELETED", what="stack deleted")
