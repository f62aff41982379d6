"""Reconciliation: what happened in the cloud behind the portal's back ends up in its records."""

import pytest

from compute import tasks
from compute.models import Cloud, Instance, OrphanServer, Project, Stack
from compute.tests.conftest import launch, make_tenant, wait_for, wait_for_stack

pytestmark = pytest.mark.usefixtures("worker")


def test_servers_deleted_or_stopped_outside_the_portal_are_recorded(client, devel, cloudsim):
    name = launch(client, devel, instance_count="2")
    wait_for_stack(name, "ACTIVE")
    gone, stopped = Instance.objects.filter(stack__name=name).order_by("name")
    cloudsim.control.server_delete(gone.server_id)
    cloudsim.control.server_stop(stopped.server_id)

    tasks.reconcile_project(devel.project.pk)

    gone.refresh_from_db()
    stopped.refresh_from_db()
    assert gone.state == "DELETED"
    assert gone.deleted is not None
    assert stopped.state == "SHUTOFF"
    listed = client.get("/openstack/instances", **devel.auth()).json()["data"][name]
    assert [i["uid"] for i in listed] == [stopped.server_id]


def test_a_stack_whose_servers_all_vanished_is_deleted(client, devel, cloudsim):
    name = launch(client, devel, instance_count="2")
    wait_for_stack(name, "ACTIVE")
    for instance in Instance.objects.filter(stack__name=name):
        cloudsim.control.server_delete(instance.server_id)

    tasks.reconcile_project(devel.project.pk)

    assert Stack.objects.get(name=name).state == "DELETED"


def test_a_tagged_server_of_an_unknown_stack_is_recorded_as_an_orphan(devel, cloudsim):
    (server_id,) = cloudsim.control.seed_servers(
        "devel", count=1, name="ghost-1", metadata={"ipaas_stack": "stack_r-ghost000"}
    )
    cloudsim.control.seed_servers("devel", count=1, name="not-ours")

    tasks.reconcile_project(devel.project.pk)

    orphan = OrphanServer.objects.get()
    assert (orphan.server_id, orphan.stack_name) == (server_id, "stack_r-ghost000")

    cloudsim.control.server_delete(server_id)
    tasks.reconcile_project(devel.project.pk)
    assert not OrphanServer.objects.exists()


def test_a_project_whose_cloud_fails_does_not_stop_the_others(client, devel, cloudsim):
    broken_cloud = Cloud.objects.create(name="no-such-clouds-yaml-entry")
    broken = make_tenant(broken_cloud, name="broken", project_name="nowhere")
    name = launch(client, devel, instance_count="1")
    wait_for_stack(name, "ACTIVE")
    (instance,) = Instance.objects.filter(stack__name=name)
    cloudsim.control.server_delete(instance.server_id)
    assert Project.objects.count() == 2

    tasks.reconcile_all.delay()

    wait_for(
        lambda: Instance.objects.get(pk=instance.pk).state == "DELETED",
        what="the healthy project to be reconciled",
    )
    assert broken.project.stacks.count() == 0
