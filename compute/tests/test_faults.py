"""Stacks when the cloud misbehaves: failed boots, quotas, 503s, dropped connections, lost
answers, duplicated task messages and a broker that is down. Every operation must end
ACTIVE, DELETED or FAILED with the cloud's reason, with nothing left behind in the cloud."""

import itertools

import pytest

from compute import services
from compute.models import Instance, Operation, Stack, WebhookDelivery
from compute.tests.conftest import (
    delete,
    failing_callback_receiver,
    launch,
    sim_project_state,
    wait_for,
    wait_for_stack,
)

pytestmark = pytest.mark.usefixtures("worker")


def assert_nothing_left(sim):
    state = sim_project_state(sim)
    assert state["servers"] == []
    assert state["floating_ips"] == []
    assert [p for p in state["ports"] if p["device_owner"].startswith("compute")] == []


def test_a_failed_boot_fails_the_stack_with_the_clouds_reason_and_rolls_back(
    client, devel, cloudsim
):
    cloudsim.control.fail_boots(count=1, message="No valid host was found.")

    name = launch(client, devel, floating_ip="true")
    stack = wait_for_stack(name, "FAILED")

    assert "No valid host was found." in stack.error
    operation = stack.operations.get()
    assert operation.state == "FAILED"
    assert "No valid host" in operation.error
    assert {step["step"] for step in operation.history} >= {"cleanup_release", "failed"}
    wait_for(lambda: sim_project_state(cloudsim)["servers"] == [], what="cloud to be empty")
    assert_nothing_left(cloudsim)


def test_with_the_keep_policy_a_partial_failure_keeps_the_good_servers(
    client, devel, cloudsim, settings
):
    settings.STACK_PARTIAL_FAILURE_POLICY = "keep"
    cloudsim.control.fail_boots(count=1, message="No valid host was found.")

    name = launch(client, devel, instance_count="3")
    stack = wait_for_stack(name, "FAILED")

    assert list(stack.instances.exclude(state="DELETED").values_list("state", flat=True)) == [
        "ACTIVE",
        "ACTIVE",
    ]
    assert len(sim_project_state(cloudsim)["servers"]) == 2
    delete(client, devel, name)
    wait_for_stack(name, "DELETED")
    assert_nothing_left(cloudsim)


def test_the_clouds_own_quota_refusal_fails_the_stack_with_novas_message(client, devel, cloudsim):
    launch_client_catalog = client.get(
        "/openstack/flavors", {"project_name": "devel"}, **devel.auth()
    )
    assert launch_client_catalog.status_code == 200
    # The cached limits still say 10; the cloud now allows 1.
    cloudsim.control.set_quota("devel", instances=1)

    name = launch(client, devel)
    stack = wait_for_stack(name, "FAILED")

    assert "Quota exceeded" in stack.error
    assert_nothing_left(cloudsim)


CREATE_CALLS = [
    ("identity", "POST", r"/auth/tokens"),
    ("network", "GET", r"/networks"),
    ("compute", "POST", r"/servers$"),
    ("compute", "GET", r"/servers/detail"),
    ("network", "GET", r"/ports"),
    ("network", "GET", r"/floatingips"),
    ("network", "POST", r"/floatingips"),
]
DELETE_CALLS = [
    ("network", "DELETE", r"/floatingips/"),
    ("compute", "DELETE", r"/servers/"),
    ("compute", "GET", r"/servers/detail"),
]


@pytest.mark.parametrize("action", ["503", "drop"])
@pytest.mark.parametrize(("service", "method", "path"), CREATE_CALLS)
def test_a_failing_call_during_create_is_retried_and_the_stack_ends_active(
    client, devel, cloudsim, service, method, path, action
):
    from compute.gateway import forget_connections

    image = client.get("/openstack/images", {"project_name": "devel"}, **devel.auth())
    assert image.status_code == 200
    forget_connections()  # so that the worker must authenticate again, through the fault
    cloudsim.control.fail_next(service, method=method, path=path, action=action, count=2)

    name = launch(client, devel, floating_ip="true")
    stack = wait_for_stack(name, "ACTIVE", "FAILED")

    assert stack.state == "ACTIVE", stack.error
    state = sim_project_state(cloudsim)
    assert len(state["servers"]) == 2
    assert len(state["floating_ips"]) == 2
    assert any(step["step"] == "retry" for step in stack.operations.get().history)

    delete(client, devel, name)
    wait_for_stack(name, "DELETED")
    assert_nothing_left(cloudsim)


@pytest.mark.parametrize(("service", "method", "path"), DELETE_CALLS)
def test_a_failing_call_during_delete_is_retried_and_nothing_is_left(
    client, devel, cloudsim, service, method, path
):
    name = launch(client, devel, floating_ip="true")
    wait_for_stack(name, "ACTIVE")
    cloudsim.control.fail_next(service, method=method, path=path, action="503", count=2)

    delete(client, devel, name)
    stack = wait_for_stack(name, "DELETED", "FAILED")

    assert stack.state == "DELETED"
    assert_nothing_left(cloudsim)


def test_a_cloud_that_keeps_failing_ends_the_operation_failed_with_the_reason(
    client, devel, cloudsim
):
    client.get("/openstack/flavors", {"project_name": "devel"}, **devel.auth())
    cloudsim.control.fail_next(
        "compute", method="POST", path=r"/servers$", action="503", count=None
    )

    name = launch(client, devel)
    stack = wait_for_stack(name, "FAILED")

    assert "Gave up after" in stack.error
    assert "503" in stack.error or "Service Unavailable" in stack.error
    cloudsim.control.clear_faults()
    assert_nothing_left(cloudsim)


def test_a_create_whose_answer_was_lost_makes_no_extra_server(client, devel, cloudsim, settings):
    from compute.gateway import forget_connections

    client.get("/openstack/flavors", {"project_name": "devel"}, **devel.auth())
    # The create goes through, but only after the portal stopped waiting for its answer.
    settings.CLOUD_API_TIMEOUT_SECONDS = 1.0
    forget_connections()
    cloudsim.control.add_latency(1.3, service="compute", method="POST", path=r"/servers$", count=1)

    name = launch(client, devel, instance_count="2")
    stack = wait_for_stack(name, "ACTIVE", "FAILED")

    assert stack.state == "ACTIVE", stack.error
    assert len(sim_project_state(cloudsim)["servers"]) == 2
    assert cloudsim.control.calls()["by_route"].get("POST /compute/v2.1/servers") == 1
    assert stack.instances.count() == 2


def test_servers_beyond_the_stacks_count_are_deleted(client, devel, cloudsim):
    cloudsim.control.slow_boots(2.0, count=2)
    name = launch(client, devel, instance_count="2")
    wait_for(lambda: Instance.objects.filter(stack__name=name).count() == 2, what="servers")
    # A second create that went through late: same tag, same names.
    cloudsim.control.seed_servers(
        "devel", count=1, name=f"{name}-1", metadata={"ipaas_stack": name}, tags=[name]
    )

    stack = wait_for_stack(name, "ACTIVE", "FAILED")

    assert stack.state == "ACTIVE", stack.error
    assert any(s["step"] == "surplus_deleted" for s in stack.operations.get().history)
    wait_for(lambda: len(sim_project_state(cloudsim)["servers"]) == 2, what="surplus gone")


def test_every_task_delivered_twice_gives_the_same_end_state(
    client, devel, cloudsim, monkeypatch, settings
):
    from compute import tasks

    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.5
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    for task in (tasks.advance_operation, tasks.deliver_webhook):
        send_once = task.apply_async

        def send_twice(*args, send_once=send_once, **kwargs):
            send_once(*args, **kwargs)
            return send_once(*args, **kwargs)

        monkeypatch.setattr(task, "apply_async", send_twice)
    callback_url, posts = failing_callback_receiver()

    name = launch(client, devel, instance_count="3", floating_ip="true", callback_url=callback_url)
    wait_for_stack(name, "ACTIVE")
    state = sim_project_state(cloudsim)
    assert len(state["servers"]) == 3
    assert len(state["floating_ips"]) == 3
    assert Instance.objects.filter(stack__name=name).count() == 3
    # Each attempt of the event is made once, after its backoff, not once per message copy.
    wait_for(
        lambda: WebhookDelivery.objects.filter(state="FAILED").exists(),
        what="the last attempt of the stack.active event",
    )
    assert len(posts) == 3
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(posts)]
    assert all(gap >= 0.45 for gap in gaps), gaps

    delete(client, devel, name)
    wait_for_stack(name, "DELETED")
    assert_nothing_left(cloudsim)
    assert list(Operation.objects.values_list("state", flat=True)) == ["SUCCEEDED"] * 2


def test_a_create_submitted_while_the_broker_is_down_is_sent_by_the_watchdog(
    client, devel, cloudsim, monkeypatch, settings
):
    from compute import tasks

    real_send = tasks.advance_operation.apply_async

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.advance_operation, "apply_async", broker_down)
    name = launch(client, devel)
    operation = Operation.objects.get(stack__name=name)
    assert operation.state == "PENDING"

    monkeypatch.setattr(tasks.advance_operation, "apply_async", real_send)
    settings.OPERATION_STALL_SECONDS = 0
    assert services.operations_watchdog() == 1

    wait_for_stack(name, "ACTIVE")
    assert len(sim_project_state(cloudsim)["servers"]) == 2


def test_deleting_a_stack_while_it_builds_leaves_nothing(client, devel, cloudsim):
    cloudsim.control.slow_boots(2.0, count=2)
    name = launch(client, devel, floating_ip="true")
    wait_for(lambda: Instance.objects.filter(stack__name=name).count() == 2, what="servers")

    delete(client, devel, name)
    wait_for_stack(name, "DELETED")

    create = Operation.objects.get(stack__name=name, kind="CREATE")
    assert create.state == "CANCELLED"
    assert Stack.objects.get(name=name).state == "DELETED"
    assert_nothing_left(cloudsim)
