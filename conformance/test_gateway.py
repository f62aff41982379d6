"""The cloud gateway against both clouds: everything the portal asks of a cloud, answered the
same way by cloudsim and by the real OpenStack."""

import ipaddress
import uuid

import pytest

from compute.gateway import (
    OPERATION_KEY,
    STACK_KEY,
    CloudPermanentError,
    ComputeLimits,
    FlavorInfo,
)
from conformance.clouds import CIRROS_ID, PRIVATE_CIDR, PUBLIC_CIDR, wait_until


def new_stack_name() -> str:
    return "stack_r-" + uuid.uuid4().hex[:8]


def create(cloud, *, count: int, flavor_id: str = "1", stack_name: str | None = None) -> str:
    stack_name = stack_name or new_stack_name()
    cloud.gateway().create_stack_servers(
        stack_name=stack_name,
        operation_id=str(uuid.uuid4()),
        image_id=CIRROS_ID,
        flavor_id=flavor_id,
        count=count,
        network_name="private",
    )
    return stack_name


def settled(cloud, stack_name: str, count: int):
    """The stack's servers once there are `count` of them and none is building."""

    def done():
        servers = cloud.gateway().stack_servers(stack_name)
        if len(servers) == count and all(s.status in ("ACTIVE", "ERROR") for s in servers):
            return servers
        return None

    return wait_until(done, timeout=cloud.wait_seconds, what=f"{stack_name} to settle")


def test_the_flavors_include_m1_tiny_with_its_size(cloud):
    flavors = {flavor.id: flavor for flavor in cloud.gateway().flavors()}

    assert flavors["1"] == FlavorInfo(id="1", name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=1)
    assert flavors["2"] == FlavorInfo(id="2", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)


def test_the_images_include_cirros_active_under_the_same_id(cloud):
    images = {image.id: image for image in cloud.gateway().images()}

    cirros = images[CIRROS_ID]
    assert (cirros.name, cirros.status, cirros.min_disk_gb) == ("cirros", "active", 1)


def test_the_networks_include_the_tenant_network_and_the_external_one(cloud):
    networks = {network.name: network for network in cloud.gateway().networks()}

    assert networks["private"].is_external is False
    assert networks["public"].is_external is True


def test_a_network_that_does_not_exist_is_a_permanent_error_naming_it(cloud):
    with pytest.raises(CloudPermanentError) as refused:
        cloud.gateway().create_stack_servers(
            stack_name=new_stack_name(),
            operation_id=str(uuid.uuid4()),
            image_id=CIRROS_ID,
            flavor_id="1",
            count=1,
            network_name="nowhere",
        )

    # The SDK itself answers a name that no network has, without a status of the cloud's.
    assert refused.value.reason == "No Network found for nowhere"
    assert cloud.leftovers()["servers"] == []


def test_the_limits_are_novas_defaults_with_nothing_used(cloud):
    assert cloud.gateway().limits() == ComputeLimits(
        max_instances=10,
        used_instances=0,
        max_cores=20,
        used_cores=0,
        max_ram_mb=51200,
        used_ram_mb=0,
    )


def test_the_members_of_a_project_are_the_users_with_a_role_in_it(cloud):
    assert cloud.gateway().member_names() == ["admin", "bob", "demo"]
    assert cloud.gateway("staging").member_names() == ["admin", "alice"]


def test_the_project_id_is_keystones_id_for_the_project(cloud):
    project_id = cloud.gateway().project_id()

    assert len(project_id) == 32
    assert project_id == cloud.conn().identity.find_project("devel").id


def test_a_multi_create_makes_n_servers_named_after_the_stack_and_tagged_with_it(cloud):
    stack_name = create(cloud, count=3)

    servers = settled(cloud, stack_name, 3)

    assert sorted(s.name for s in servers) == [f"{stack_name}-{i}" for i in (1, 2, 3)]
    for server in servers:
        assert server.status == "ACTIVE"
        assert server.metadata[STACK_KEY] == stack_name
        assert OPERATION_KEY in server.metadata
        assert ipaddress.ip_address(server.fixed_ip) in PRIVATE_CIDR
        assert server.floating_ip == ""
        assert server.fault == ""
        # The SDK asks for Nova's latest microversion, where a server's flavor has no id.
        assert (server.flavor_id, server.flavor_name) == ("", "m1.tiny")
        assert server.created
    assert {s.id for s in cloud.gateway().project_servers()} == {s.id for s in servers}


def test_a_single_server_stack_keeps_the_stacks_name(cloud):
    stack_name = create(cloud, count=1)

    (server,) = settled(cloud, stack_name, 1)

    assert server.name == stack_name


def test_the_siblings_of_a_stack_are_found_by_its_tag_only(cloud):
    first, second = create(cloud, count=2), create(cloud, count=1)

    first_servers, second_servers = settled(cloud, first, 2), settled(cloud, second, 1)

    assert {s.metadata[STACK_KEY] for s in first_servers} == {first}
    assert {s.metadata[STACK_KEY] for s in second_servers} == {second}
    assert cloud.gateway().stack_servers("stack_r-nothere0") == []


def test_a_floating_ip_is_allocated_onto_the_servers_port_found_and_released(cloud):
    stack_name = create(cloud, count=1)
    (server,) = settled(cloud, stack_name, 1)
    gateway = cloud.gateway()
    port_id = gateway.server_port_id(server.id)
    assert port_id

    description = f"ipaas {stack_name} {server.id}"
    address = gateway.allocate_floating_ip(
        network_id=gateway.floating_network_id("public"), port_id=port_id, description=description
    )

    assert ipaddress.ip_address(address.address) in PUBLIC_CIDR
    assert (address.port_id, address.description) == (port_id, description)
    assert gateway.floating_ips(port_id=port_id) == [address]
    assert gateway.floating_ips(description=description) == [address]
    assert gateway.floating_ips(description="ipaas no such stack") == []

    gateway.release_floating_ip(address.id)
    assert gateway.floating_ips(port_id=port_id) == []
    # Releasing an address that is gone already is not an error.
    gateway.release_floating_ip(address.id)


def test_the_ports_of_a_whole_stack_come_in_one_call(cloud):
    stack_name = create(cloud, count=2)
    servers = settled(cloud, stack_name, 2)
    gateway = cloud.gateway()

    ports = gateway.server_ports([server.id for server in servers] + [str(uuid.uuid4())])

    assert set(ports) == {server.id for server in servers}
    assert len(set(ports.values())) == 2
    assert [gateway.server_port_id(server.id) for server in servers] == [
        ports[server.id] for server in servers
    ]


def test_the_projects_floating_ips_are_its_own_even_for_an_admin(cloud):
    stack_name = create(cloud, count=1)
    (server,) = settled(cloud, stack_name, 1)
    gateway = cloud.gateway()
    address = gateway.allocate_floating_ip(
        network_id=gateway.floating_network_id("public"),
        port_id=gateway.server_port_id(server.id),
        description=f"ipaas {stack_name} {server.id}",
    )

    assert gateway.floating_ips() == [address]
    assert cloud.gateway("staging").floating_ips() == []


def test_a_deleted_servers_floating_ip_stays_allocated_without_a_port(cloud):
    stack_name = create(cloud, count=1)
    (server,) = settled(cloud, stack_name, 1)
    gateway = cloud.gateway()
    description = f"ipaas {stack_name} {server.id}"
    address = gateway.allocate_floating_ip(
        network_id=gateway.floating_network_id("public"),
        port_id=gateway.server_port_id(server.id),
        description=description,
    )

    gateway.delete_server(server.id)
    wait_until(
        lambda: gateway.stack_servers(stack_name) == [],
        timeout=cloud.wait_seconds,
        what="the server to be gone",
    )

    # Neutron only unbinds the address when the port goes: releasing it is the portal's job.
    (left,) = gateway.floating_ips(description=description)
    assert (left.id, left.address, left.port_id) == (address.id, address.address, None)


def test_deleted_servers_disappear_and_a_second_delete_is_harmless(cloud):
    stack_name = create(cloud, count=2)
    servers = settled(cloud, stack_name, 2)
    gateway = cloud.gateway()

    for server in servers:
        gateway.delete_server(server.id)
    wait_until(
        lambda: gateway.stack_servers(stack_name) == [],
        timeout=cloud.wait_seconds,
        what="the servers to be gone",
    )

    gateway.delete_server(servers[0].id)
    assert gateway.server_port_id(servers[0].id) is None
    assert cloud.leftovers() == {"servers": [], "floating_ips": [], "ports": []}


def test_a_create_over_the_instance_quota_is_a_permanent_error_with_novas_words(cloud):
    cloud.set_instances_quota(2)

    with pytest.raises(CloudPermanentError) as refused:
        create(cloud, count=3)

    assert refused.value.status == 403
    assert refused.value.reason == (
        "Quota exceeded for instances: Requested 3, but already used 0 of 2 instances"
    )
    assert cloud.leftovers()["servers"] == []


def test_an_unknown_flavor_is_a_permanent_error_naming_it(cloud):
    with pytest.raises(CloudPermanentError) as refused:
        create(cloud, count=1, flavor_id="404")

    assert refused.value.status == 400
    assert refused.value.reason == "Flavor 404 could not be found."


def test_an_unknown_image_is_a_permanent_error_in_novas_words(cloud):
    image_id = str(uuid.uuid4())

    with pytest.raises(CloudPermanentError) as refused:
        cloud.gateway().create_stack_servers(
            stack_name=new_stack_name(),
            operation_id=str(uuid.uuid4()),
            image_id=image_id,
            flavor_id="1",
            count=1,
            network_name="private",
        )

    assert refused.value.status == 400
    assert refused.value.reason == "Can not find requested image"


def test_a_boot_that_fails_leaves_the_server_in_error_with_the_clouds_fault(cloud):
    stack_name = create(cloud, count=1, flavor_id=cloud.flavor_whose_boots_fail())

    (server,) = settled(cloud, stack_name, 1)

    assert server.status == "ERROR"
    assert "Build of instance" in server.fault
    assert "aborted" in server.fault
    assert (server.fixed_ip, server.floating_ip) == ("", "")
    assert cloud.gateway().server_port_id(server.id) is None


def test_a_multi_create_can_end_with_one_server_active_and_one_in_error(cloud):
    stack_name = create(cloud, count=2, flavor_id=cloud.flavor_that_fails_one_of_two())

    servers = settled(cloud, stack_name, 2)

    assert sorted(s.status for s in servers) == ["ACTIVE", "ERROR"]
    (failed,) = [s for s in servers if s.status == "ERROR"]
    assert "aborted" in failed.fault


def test_the_limits_count_what_the_project_uses(cloud):
    stack_name = create(cloud, count=2, flavor_id="2")
    settled(cloud, stack_name, 2)

    limits = cloud.gateway().limits()

    assert (limits.used_instances, limits.used_cores, limits.used_ram_mb) == (2, 2, 4096)


def test_a_create_over_the_cores_quota_names_cores_in_novas_words(cloud):
    cloud.set_compute_quota(cores=1)

    with pytest.raises(CloudPermanentError) as refused:
        create(cloud, count=2)

    assert refused.value.status == 403
    assert refused.value.reason == (
        "Quota exceeded for cores: Requested 2, but already used 0 of 1 cores"
    )


def test_a_floating_ip_over_the_quota_is_a_permanent_error_in_neutrons_words(cloud):
    stack_name = create(cloud, count=1)
    (server,) = settled(cloud, stack_name, 1)
    gateway = cloud.gateway()
    cloud.set_floating_ips_quota(0)

    with pytest.raises(CloudPermanentError) as refused:
        gateway.allocate_floating_ip(
            network_id=gateway.floating_network_id("public"),
            port_id=gateway.server_port_id(server.id),
            description=f"ipaas {stack_name} {server.id}",
        )

    assert refused.value.status == 409
    assert refused.value.reason == "Quota exceeded for resources: ['floatingip']."


def test_a_multi_create_that_no_host_can_take_leaves_every_server_in_error(cloud):
    stack_name = create(cloud, count=3, flavor_id=cloud.flavor_no_host_takes_three_of())

    servers = settled(cloud, stack_name, 3)

    assert [s.status for s in servers] == ["ERROR"] * 3
    for server in servers:
        assert server.fault.startswith("No valid host was found.")
        assert server.fixed_ip == ""
