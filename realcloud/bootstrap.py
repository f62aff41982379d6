"""Seed the real test cloud so that it offers what cloudsim's default preset offers.

`identity` (once Keystone answers): projects, users and roles as in cloudsim's preset, the
portal's service account `admin` with a role in each tenant project, the services and their
endpoints. `resources` (once Glance, Neutron and Nova answer): flavors, the image, networks
and router under cloudsim's names and ids, and two flavors whose boots fail on purpose.
Runs in the real cloud's venv, for one fresh cloud.
"""

import os
import sys
import time

import openstack

KEYSTONE_URL = os.environ["REALCLOUD_KEYSTONE_URL"]
SERVICE_PASSWORD = os.environ.get("SERVICE_PASSWORD", "secret")
ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD", "secret")
IMAGE_FILE = os.environ.get("IMAGE_FILE")
COMPUTE_HOST = os.environ["REALCLOUD_COMPUTE_HOST"]
DOOMED_HOST = os.environ["REALCLOUD_DOOMED_HOST"]

# cloudsim's image id for `cirros`, so that one request body works on both clouds.
CIRROS_ID = "52fd3ef8-9f74-5cc4-b98b-31e74d3b2d69"
# Flavors m1.tiny and m1.small go to the healthy host only (AggregateInstanceExtraSpecsFilter).
HEALTHY_SPEC = {"aggregate_instance_extra_specs:healthy": "true"}

conn = openstack.connect(
    auth_url=f"{KEYSTONE_URL}/v3",
    username="admin",
    password=ADMIN_PASSWORD,
    project_name="admin",
    user_domain_name="Default",
    project_domain_name="Default",
    region_name="RegionOne",
)
idn = conn.identity


def identity():
    domain = idn.find_domain("default")
    roles = {role.name: role for role in idn.roles()}
    projects = {"admin": idn.find_project("admin")}
    for name in ("service", "devel", "staging"):
        projects[name] = idn.create_project(name=name, domain_id=domain.id)

    # As cloudsim's preset: user -> {project: [roles]}.
    users = {
        "demo": ("demo", {"devel": ["member", "reader"]}),
        "alice": ("alice", {"staging": ["member"]}),
        "bob": ("bob", {"devel": ["reader"]}),
    }
    for name, (password, grants) in users.items():
        user = idn.create_user(name=name, password=password, domain_id=domain.id)
        for project, role_names in grants.items():
            for role in role_names:
                idn.assign_project_role_to_user(projects[project], user, roles[role])
    # The portal's service account connects with project_name=<tenant project>: it needs a
    # role there, as an operator grants one to the account a portal manages projects with.
    admin = idn.find_user("admin")
    for project in ("devel", "staging"):
        idn.assign_project_role_to_user(projects[project], admin, roles["admin"])

    port = os.environ.get
    for name, kind, url in [
        ("glance", "image", f"http://127.0.0.1:{port('REALCLOUD_GLANCE_PORT')}"),
        ("placement", "placement", f"http://127.0.0.1:{port('REALCLOUD_PLACEMENT_PORT')}"),
        ("nova", "compute", f"http://127.0.0.1:{port('REALCLOUD_NOVA_PORT')}/v2.1"),
        ("neutron", "network", f"http://127.0.0.1:{port('REALCLOUD_NEUTRON_PORT')}"),
    ]:
        user = idn.create_user(name=name, password=SERVICE_PASSWORD, domain_id=domain.id)
        idn.assign_project_role_to_user(projects["service"], user, roles["admin"])
        idn.assign_project_role_to_user(projects["service"], user, roles["service"])
        service = idn.create_service(name=name, type=kind)
        for interface in ("public", "internal", "admin"):
            idn.create_endpoint(
                service_id=service.id, interface=interface, url=url, region_id="RegionOne"
            )
    print("identity: projects service/devel/staging, users demo/alice/bob, 4 services")


def wait_for_compute_hosts(timeout: float = 300.0) -> None:
    """Until Placement has both hosts' inventories: before that, every boot is NoValidHost."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        providers = list(conn.placement.resource_providers())
        with_inventory = [
            rp for rp in providers if list(conn.placement.resource_provider_inventories(rp))
        ]
        if {rp.name for rp in with_inventory} >= {COMPUTE_HOST, DOOMED_HOST}:
            return
        time.sleep(2)
    raise SystemExit("the compute hosts did not report their resources to Placement")


def resources():
    compute = conn.compute
    devel = idn.find_project("devel")
    wait_for_compute_hosts()

    # Two hosts: every boot on the doomed one fails (FakeBuildAbortDriver).
    healthy = compute.create_aggregate(name="healthy")
    compute.add_host_to_aggregate(healthy, COMPUTE_HOST)
    compute.set_aggregate_metadata(healthy, {"healthy": "true"})
    doomed = compute.create_aggregate(name="doomed")
    compute.add_host_to_aggregate(doomed, DOOMED_HOST)
    compute.set_aggregate_metadata(doomed, {"doomed": "true"})

    for flavor_id, name, vcpus, ram, disk in [
        ("1", "m1.tiny", 1, 512, 1),
        ("2", "m1.small", 1, 2048, 20),
    ]:
        flavor = compute.create_flavor(id=flavor_id, name=name, vcpus=vcpus, ram=ram, disk=disk)
        compute.create_flavor_extra_specs(flavor, HEALTHY_SPEC)
    # Every server of m1.doomed is scheduled to the doomed host, and fails there.
    flavor = compute.create_flavor(id="90", name="m1.doomed", vcpus=1, ram=512, disk=1)
    compute.create_flavor_extra_specs(flavor, {"aggregate_instance_extra_specs:doomed": "true"})
    # A host's fake disk (600000 GB) holds one m1.split only: a multi-create of two puts one
    # server on each host, and exactly one of them fails.
    compute.create_flavor(id="91", name="m1.split", vcpus=1, ram=512, disk=400000)

    image = conn.image.create_image(
        name="cirros",
        id=CIRROS_ID,
        filename=IMAGE_FILE,
        disk_format="raw",
        container_format="bare",
        visibility="public",
        min_disk=1,
        wait=True,
    )

    public = conn.network.create_network(
        name="public",
        is_router_external=True,
        provider_network_type="flat",
        provider_physical_network="public",
    )
    conn.network.create_subnet(
        name="public-subnet",
        network_id=public.id,
        ip_version=4,
        cidr="172.24.4.0/24",
        gateway_ip="172.24.4.1",
        is_dhcp_enabled=False,
    )
    # Unlike cloudsim's shared `private`, the tenant network here belongs to devel.
    private = conn.network.create_network(name="private", project_id=devel.id)
    subnet = conn.network.create_subnet(
        name="private-subnet",
        network_id=private.id,
        ip_version=4,
        cidr="10.0.0.0/16",
        gateway_ip="10.0.0.1",
        project_id=devel.id,
    )
    router = conn.network.create_router(
        name="router1", project_id=devel.id, external_gateway_info={"network_id": public.id}
    )
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    print(
        "resources: flavors m1.tiny/m1.small/m1.doomed/m1.split, image cirros %s, "
        "networks public/private, router1" % image.id
    )


{"identity": identity, "resources": resources}[sys.argv[1]]()
