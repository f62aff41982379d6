"""The cloud gateway: it reaches the cloud in the region its Cloud record names."""

import pytest

from compute import services
from compute.gateway import CloudError, CloudGateway
from compute.models import Cloud, Project

pytestmark = pytest.mark.django_db


def test_the_gateway_connects_in_the_region_of_the_projects_cloud(devel):
    gateway = services.gateway_for(devel.project)

    assert gateway.conn.config.region_name == "RegionOne"
    assert [flavor.id for flavor in gateway.flavors()]


def test_a_region_the_cloud_does_not_have_fails_the_call_instead_of_using_another(devel, cloudsim):
    Cloud.objects.filter(pk=devel.project.cloud_id).update(region="RegionTwo")
    project = Project.objects.select_related("cloud").get(pk=devel.project.pk)

    with pytest.raises(CloudError):
        services.gateway_for(project).flavors()


def test_a_gateway_made_without_a_region_uses_the_clouds_yaml_entry(portal_cloud):
    gateway = CloudGateway(cloud_name="cloudsim", project_name="devel")

    assert gateway.region_name is None
    assert [flavor.id for flavor in gateway.flavors()]
