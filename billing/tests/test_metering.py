"""Metering of real stacks: provisioning, deletion and reconciliation record state changes."""

import pytest

from billing.models import InstanceEvent
from compute import tasks
from compute.models import Instance
from compute.tests.conftest import delete, launch, wait_for_stack

pytestmark = pytest.mark.usefixtures("worker")


def test_a_stacks_instances_are_metered_from_build_to_deleted(client, devel, cloudsim):
    name = launch(client, devel, instance_count="2")
    wait_for_stack(name, "ACTIVE")
    delete(client, devel, name)
    wait_for_stack(name, "DELETED")

    for instance in Instance.objects.filter(stack__name=name):
        states = list(
            InstanceEvent.objects.filter(instance=instance)
            .order_by("at_us")
            .values_list("state", flat=True)
        )
        assert states == ["BUILD", "ACTIVE", "DELETING", "DELETED"]


def test_reconciliation_meters_what_happened_behind_the_portals_back(client, devel, cloudsim):
    name = launch(client, devel, instance_count="1")
    wait_for_stack(name, "ACTIVE")
    (instance,) = Instance.objects.filter(stack__name=name)
    cloudsim.control.server_stop(instance.server_id)

    tasks.reconcile_project(devel.project.pk)

    assert InstanceEvent.objects.filter(instance=instance).latest("at_us").state == "SHUTOFF"
