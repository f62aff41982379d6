"""The real openstacksdk against cloudsim, the way the portal's cloud gateway uses it."""

import time
import uuid

import openstack
import pytest
import requests
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions

from cloudsim.tests.helpers import get_token

WAIT = {"interval": 0.05, "wait": 10}


def _boot(conn, name, count=1, **extra):
    image = conn.image.find_image("cirros", ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    return conn.compute.create_server(
        name=name,
        image_id=image.id,
        flavor_id=flavor.id,
        networks="auto",
        min_count=count,
        max_count=count,
        **extra,
    )


def test_flavors_and_images_are_listed(devel):
    flavors = {f.name: f for f in devel.compute.flavors()}
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large"} <= set(flavors)
    assert (flavors["m1.small"].vcpus, flavors["m1.small"].ram) == (1, 2048)
    images = {i.name: i for i in devel.image.images()}
    assert images["cirros"].status == "active"
    assert images["ubuntu-24.04"].disk_format == "qcow2"
    assert devel.compute.find_flavor("m1.tiny").id == "1"


def test_a_stack_is_created_found_given_an_address_and_deleted(devel, cloudsim):
    stack = "stack_r-" + uuid.uuid4().hex[:8]
    first = _boot(devel, stack, count=3, metadata={"stack": stack})
    first = devel.compute.wait_for_server(first, **WAIT)
    assert first.status == "ACTIVE"

    mine = [s for s in devel.compute.servers(details=True) if s.metadata.get("stack") == stack]
    assert sorted(s.name for s in mine) == [stack + "-1", stack + "-2", stack + "-3"]
    for server in mine:
        devel.compute.wait_for_server(server, **WAIT)

    public = devel.network.find_network("public", ignore_missing=False)
    port = next(devel.network.ports(device_id=first.id))
    assert port.device_owner == "compute:nova"
    fip = devel.network.create_ip(floating_network_id=public.id, description="op-" + stack)
    devel.network.update_ip(fip, port_id=port.id)
    addresses = devel.compute.get_server(first.id).addresses["private"]
    kinds = {a["OS-EXT-IPS:type"]: a["addr"] for a in addresses}
    assert kinds["floating"] == fip.floating_ip_address
    assert kinds["fixed"] == port.fixed_ips[0]["ip_address"]
    found = list(devel.network.ips(description="op-" + stack))
    assert [f.port_id for f in found] == [port.id]

    devel.network.delete_ip(fip)
    for server in mine:
        devel.compute.delete_server(server)
    for server in mine:
        devel.compute.wait_for_delete(server, **WAIT)
    devel_state = cloudsim.control.state()["projects"]["devel"]
    assert devel_state["servers"] == []
    assert devel_state["ports"] == []
    assert devel_state["floating_ips"] == []


def test_tags_filter_on_the_server_side(devel):
    _boot(devel, "tagged", count=2, tags=["stack_r-abc"])
    _boot(devel, "other")
    names = sorted(s.name for s in devel.compute.servers(tags="stack_r-abc"))
    assert names == ["tagged-1", "tagged-2"]


def test_a_create_beyond_the_quota_raises_with_novas_message(devel, cloudsim):
    cloudsim.control.set_quota("devel", instances=4)
    _boot(devel, "fill", count=3)
    with pytest.raises(exceptions.ForbiddenException) as caught:
        _boot(devel, "over", count=2)
    assert caught.value.status_code == 403
    assert "Quota exceeded for instances: Requested 2, but already used 3 of 4 instances" in str(
        caught.value
    )


def test_a_multi_create_gets_as_many_servers_as_the_quota_allows(devel, cloudsim):
    cloudsim.control.set_quota("devel", instances=3)
    image = devel.image.find_image("cirros")
    devel.compute.create_server(
        name="some", image_id=image.id, flavor_id="1", networks="none", min_count=1, max_count=5
    )
    assert len(list(devel.compute.servers())) == 3


def test_an_injected_503_reaches_the_sdk_as_its_exception(devel, cloudsim):
    cloudsim.control.fail_next("compute", method="GET", path="/servers/detail$", action="503")
    with pytest.raises(exceptions.HttpException) as caught:
        list(devel.compute.servers(details=True))
    assert caught.value.status_code == 503
    assert "cloudsim injected a 503 fault" in str(caught.value)
    assert list(devel.compute.servers(details=True)) == []


def test_a_dropped_connection_reaches_the_sdk_as_keystoneauths_connect_failure(devel, cloudsim):
    list(devel.compute.servers())  # discovery done before the fault
    cloudsim.control.fail_next("compute", path="/servers", action="drop")
    # The SDK does not wrap this one: a gateway must catch keystoneauth's exception too.
    with pytest.raises(ks_exceptions.ConnectFailure):
        list(devel.compute.servers())
    assert list(devel.compute.servers()) == []


def test_a_failed_boot_gives_an_error_server_with_its_fault(devel, cloudsim):
    cloudsim.control.fail_boots(count=1, message="No valid host was found.")
    server = _boot(devel, "doomed")
    with pytest.raises(exceptions.ResourceFailure):
        devel.compute.wait_for_server(server, **WAIT)
    server = devel.compute.get_server(server.id)
    assert server.status == "ERROR"
    assert server.fault["message"] == "No valid host was found."
    assert server.fault["code"] == 500
    assert list(devel.network.ports(device_id=server.id)) == []


def test_a_bad_or_missing_token_gets_401(cloudsim):
    for headers in ({"X-Auth-Token": "not-a-token"}, {}):
        response = requests.get(cloudsim.url + "/compute/v2.1/flavors", headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_an_expired_token_gets_401(cloudsim):
    cloudsim.control.config(token_ttl=0.05)
    token = get_token(cloudsim.url, "demo", "demo", "devel")
    time.sleep(0.1)
    response = requests.get(
        cloudsim.url + "/compute/v2.1/flavors", headers={"X-Auth-Token": token}, timeout=5
    )
    assert response.status_code == 401


def test_a_revoked_token_is_replaced_by_the_sdk(devel, cloudsim):
    list(devel.compute.flavors())
    assert cloudsim.control.revoke_tokens() >= 1
    assert len(list(devel.compute.flavors())) == 5


def test_a_user_not_in_a_project_cannot_scope_to_it(cloudsim):
    conn = openstack.connect(
        auth_url=cloudsim.auth_url,
        username="alice",
        password="alice",
        project_name="devel",
        user_domain_name="Default",
        project_domain_name="Default",
    )
    # Authentication fails inside keystoneauth, whose exception the SDK lets through.
    with pytest.raises(ks_exceptions.Unauthorized):
        list(conn.compute.flavors())


def test_projects_do_not_see_each_others_servers(devel, cloudsim):
    server = _boot(devel, "private-thing")
    staging = openstack.connect(cloud="cloudsim-staging")
    assert list(staging.compute.servers()) == []
    assert staging.compute.find_server(server.id) is None
    assert staging.network.find_network("private") is not None
    admin = openstack.connect(cloud="cloudsim")
    everyone = list(admin.compute.servers(all_projects=True))
    assert [s.id for s in everyone] == [server.id]


def test_deleting_a_server_releases_its_port_and_floating_ip(devel):
    server = devel.compute.wait_for_server(_boot(devel, "with-ip"), **WAIT)
    port = next(devel.network.ports(device_id=server.id))
    public = devel.network.find_network("public")
    fip = devel.network.create_ip(floating_network_id=public.id, port_id=port.id)
    assert fip.status == "ACTIVE"
    devel.compute.delete_server(server)
    devel.compute.wait_for_delete(server, **WAIT)
    assert devel.network.find_port(port.id) is None
    fip = devel.network.get_ip(fip.id)
    assert (fip.port_id, fip.fixed_ip_address, fip.status) == (None, None, "DOWN")


def test_stop_start_and_reboot(devel, cloudsim):
    cloudsim.control.config(reboot_time=0.1)
    server = devel.compute.wait_for_server(_boot(devel, "cycled"), **WAIT)
    devel.compute.stop_server(server)
    assert devel.compute.get_server(server.id).status == "SHUTOFF"
    with pytest.raises(exceptions.ConflictException):
        devel.compute.stop_server(server)
    devel.compute.start_server(server)
    devel.compute.reboot_server(server, "SOFT")
    assert devel.compute.get_server(server.id).status == "REBOOT"
    assert devel.compute.wait_for_server(server, **WAIT).status == "ACTIVE"


def test_quota_and_limits_are_readable(devel, cloudsim):
    _boot(devel, "counted")
    limits = devel.compute.get_limits().absolute
    assert (limits.instances, limits.instances_used) == (10, 1)
    project_id = devel.current_project_id
    detail = devel.compute.get_quota_set(project_id, usage=True)
    assert detail.usage["instances"] == 1
    network_quota = devel.network.get_quota(project_id)
    assert network_quota.floating_ips == 50


def test_the_floating_ip_quota_answers_neutrons_409(devel, cloudsim):
    cloudsim.control.set_quota("devel", floating_ips=1)
    public = devel.network.find_network("public")
    devel.network.create_ip(floating_network_id=public.id)
    with pytest.raises(exceptions.ConflictException) as caught:
        devel.network.create_ip(floating_network_id=public.id)
    assert "Quota exceeded for resources: ['floatingip']" in str(caught.value)


def test_identity_answers_membership_questions(admin):
    demo = admin.identity.find_user("demo", ignore_missing=False)
    devel = admin.identity.find_project("devel", ignore_missing=False)
    staging = admin.identity.find_project("staging", ignore_missing=False)
    assert list(admin.identity.role_assignments(user_id=demo.id, scope_project_id=devel.id))
    assert not list(admin.identity.role_assignments(user_id=demo.id, scope_project_id=staging.id))
    assert [p.name for p in admin.identity.user_projects(demo)] == ["devel"]
