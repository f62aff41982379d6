"""Stacks through the seed's endpoints, a real Celery worker on RabbitMQ, and cloudsim."""

import pytest

from compute.models import Instance, Operation
from compute.tests.conftest import delete, launch, sim_project_state, wait_for_stack

pytestmark = pytest.mark.usefixtures("worker")


@pytest.mark.parametrize("floating_ip", [False, True])
def test_a_two_instance_stack_is_built_listed_and_deleted_leaving_nothing(
    client, devel, cloudsim, floating_ip
):
    name = launch(client, devel, floating_ip=str(floating_ip).lower())
    assert name.startswith("stack_r-")

    wait_for_stack(name, "ACTIVE")
    listed = client.get("/openstack/instances", **devel.auth()).json()["data"]
    assert len(listed[name]) == 2
    for instance in listed[name]:
        assert instance["ip"].startswith("10.0.")
        assert bool(instance["floating_ip"]) is floating_ip
    servers = sim_project_state(cloudsim)["servers"]
    assert sorted(s["id"] for s in servers) == sorted(i["uid"] for i in listed[name])
    assert len(sim_project_state(cloudsim)["floating_ips"]) == (2 if floating_ip else 0)

    assert delete(client, devel, name).json()["status"] == 200
    wait_for_stack(name, "DELETED")

    sim = sim_project_state(cloudsim)
    assert sim["servers"] == []
    assert sim["floating_ips"] == []
    assert name not in client.get("/openstack/instances", **devel.auth()).json()["data"]
    assert set(Instance.objects.values_list("state", flat=True)) == {"DELETED"}
    assert [op.state for op in Operation.objects.order_by("created")] == [
        "SUCCEEDED",
        "SUCCEEDED",
    ]


def test_a_stacks_address_lookups_do_not_grow_with_its_servers(client, devel, cloudsim):
    """Ports and floating IPs are looked up once per step for the whole stack, so a stack of
    four costs the same lookups as a stack of one, and only its allocations and releases
    grow with it."""

    def network_calls(count: int) -> dict[str, int]:
        cloudsim.control.clear_calls()
        name = launch(client, devel, instance_count=str(count), floating_ip="true")
        wait_for_stack(name, "ACTIVE")
        delete(client, devel, name)
        wait_for_stack(name, "DELETED")
        routes = cloudsim.control.calls()["by_route"]
        return {route: n for route, n in routes.items() if "/network/" in route}

    one, four = network_calls(1), network_calls(4)

    for route in ("GET /network/v2.0/ports", "GET /network/v2.0/floatingips"):
        assert one[route] == four[route] == 2  # one for the addresses, one to release them
    assert (one["POST /network/v2.0/floatingips"], four["POST /network/v2.0/floatingips"]) == (
        1,
        4,
    )
    assert four["DELETE /network/v2.0/floatingips/{id}"] == 4
    assert sim_project_state(cloudsim)["floating_ips"] == []
