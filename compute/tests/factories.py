"""Factories for compute records that need no cloud: catalogs, stacks and instances."""

import uuid

import factory
from django.utils import timezone

from compute.models import Instance, ProjectCatalog, Stack

CIRROS = "52fd3ef8-9f74-5cc4-b98b-31e74d3b2d69"
TINY = {"id": "1", "name": "m1.tiny", "vcpus": 1, "ram_mb": 512, "disk_gb": 1}
SMALL = {"id": "2", "name": "m1.small", "vcpus": 1, "ram_mb": 2048, "disk_gb": 20}


def catalog_for(project, *, max_instances: int = 10, members=("demo",)) -> ProjectCatalog:
    """A fresh catalog, as a refresh from cloudsim's preset would leave it."""
    return ProjectCatalog.objects.update_or_create(
        project=project,
        defaults={
            "flavors": [TINY, SMALL],
            "images": [
                {"id": CIRROS, "name": "cirros", "status": "active"},
                {"id": "queued-image", "name": "half-uploaded", "status": "queued"},
            ],
            "member_names": list(members),
            "limits": {
                "max_instances": max_instances,
                "used_instances": 0,
                "max_cores": 20,
                "used_cores": 0,
                "max_ram_mb": 51200,
                "used_ram_mb": 0,
            },
            "refreshed": timezone.now(),
        },
    )[0]


class StackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stack

    image_id = CIRROS
    flavor_id = "1"
    instance_count = 2
    user_name = "demo"
    state = Stack.State.ACTIVE


class InstanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instance

    stack = factory.SubFactory(StackFactory)
    server_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    name = factory.Sequence(lambda n: f"server-{n}")
    state = Instance.State.ACTIVE
    fixed_ip = factory.Sequence(lambda n: f"10.0.{n // 250}.{n % 250 + 2}")
    flavor_id = "1"
    image_id = CIRROS
