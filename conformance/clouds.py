"""The two clouds a conformance case runs on: cloudsim in the test process, and the real
OpenStack of `realcloud/` (Keystone, Glance, Placement, Nova with the fake driver, Neutron).

A `CloudUnderTest` says how to reach a cloud as the portal does (a clouds.yaml entry), which
settings suit its speed, and how to arrange what a case needs (a quota, a boot that fails,
a server deleted behind the portal's back) through the cloud's own API wherever both clouds
have one, so that the arrangement is the same on both.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from compute.gateway import CloudGateway, forget_connections

CLOUDSIM = "cloudsim"
OPENSTACK = "openstack"

# Where `make realcloud-up` writes the real cloud's clouds.yaml; set by `make test-openstack`.
REALCLOUD_ENV = "REALCLOUD_CLOUDS_YAML"

TENANT_PROJECT = "devel"
# The same on both clouds: realcloud/bootstrap.py seeds what cloudsim's preset has.
CIRROS_ID = "52fd3ef8-9f74-5cc4-b98b-31e74d3b2d69"
PRIVATE_CIDR = ipaddress.ip_network("10.0.0.0/16")
PUBLIC_CIDR = ipaddress.ip_network("172.24.4.0/24")
# Nova's and Neutron's defaults, which both clouds start with.
DEFAULT_COMPUTE_QUOTA = {"instances": 10, "cores": 20, "ram": 51200}
DEFAULT_FLOATING_IPS_QUOTA = 50

# cloudsim boots in 0.2 s. The real Nova takes a few seconds per boot on a loaded machine,
# and much longer when another test run shares the two cores: poll gently, wait long.
CLOUD_SETTINGS = {
    CLOUDSIM: {
        "CLOUD_POLL_SECONDS": 0.1,
        "STACK_BUILD_TIMEOUT_SECONDS": 30,
        "STACK_DELETE_TIMEOUT_SECONDS": 30,
        "OPERATION_BACKOFF_MAX_SECONDS": 0.5,
        "OPERATION_MAX_ATTEMPTS": 6,
        "CATALOG_MAX_AGE_SECONDS": 3600,
    },
    OPENSTACK: {
        "CLOUD_POLL_SECONDS": 1.0,
        "CLOUD_API_TIMEOUT_SECONDS": 60,
        "STACK_BUILD_TIMEOUT_SECONDS": 240,
        "STACK_DELETE_TIMEOUT_SECONDS": 240,
        "OPERATION_BACKOFF_MAX_SECONDS": 4,
        "OPERATION_MAX_ATTEMPTS": 8,
        "CATALOG_MAX_AGE_SECONDS": 3600,
    },
}
# How long a test itself waits for a stack or a server to settle.
WAIT_SECONDS = {CLOUDSIM: 30.0, OPENSTACK: 300.0}


@dataclass
class CloudUnderTest:
    kind: str
    cloud_name: str
    sim: object | None = None
    settings: dict = field(default_factory=dict)

    @property
    def wait_seconds(self) -> float:
        return WAIT_SECONDS[self.kind]

    def gateway(self, project: str = TENANT_PROJECT) -> CloudGateway:
        """The portal's gateway for a project, as the service account."""
        return CloudGateway(cloud_name=self.cloud_name, project_name=project)

    def conn(self, project: str = TENANT_PROJECT):
        """The service account's openstacksdk connection, to arrange and to inspect."""
        return self.gateway(project).conn

    # --- arranging ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the cloud as seeded: no servers or addresses in devel, default quotas."""
        forget_connections()
        if self.kind == CLOUDSIM:
            self.sim.control.reset()
            return
        conn = self.conn()
        project_id = conn.current_project_id
        for ip in conn.network.ips(project_id=project_id):
            conn.network.delete_ip(ip, ignore_missing=True)
        servers = list(conn.compute.servers())
        for server in servers:
            conn.compute.delete_server(server, ignore_missing=True)
        conn.compute.update_quota_set(project_id, **DEFAULT_COMPUTE_QUOTA)
        conn.network.update_quota(project_id, floating_ips=DEFAULT_FLOATING_IPS_QUOTA)
        wait_until(
            lambda: not list(conn.compute.servers()),
            timeout=self.wait_seconds,
            what="the real cloud's devel project to be empty",
        )

    def set_instances_quota(self, instances: int) -> None:
        self.set_compute_quota(instances=instances)

    def set_compute_quota(self, **limits: int) -> None:
        conn = self.conn()
        conn.compute.update_quota_set(conn.current_project_id, **limits)

    def set_floating_ips_quota(self, floating_ips: int) -> None:
        conn = self.conn()
        conn.network.update_quota(conn.current_project_id, floating_ips=floating_ips)

    def flavor_no_host_takes_three_of(self) -> str:
        """A flavor id of which no host can take a multi-create of three.

        The real cloud's two hosts hold one m1.split each, so Nova's scheduler finds no
        valid host and every server of the request ends in ERROR.
        """
        if self.kind == CLOUDSIM:
            self.sim.control.fail_boots(
                count=3, message="No valid host was found. There are not enough hosts available."
            )
            return "1"
        return "91"

    def flavor_whose_boots_fail(self) -> str:
        """A flavor id whose next boot ends in ERROR with a fault from the cloud.

        cloudsim fails the next boot on request. The real cloud has a second compute host
        whose fake driver aborts every build, and flavor m1.doomed is only placed there.
        """
        if self.kind == CLOUDSIM:
            self.sim.control.fail_boots(count=1, message="Build of instance aborted.")
            return "1"
        return "90"

    def flavor_that_fails_one_of_two(self) -> str:
        """A flavor id whose two-server multi-create gets one ACTIVE and one ERROR server.

        On the real cloud a host's disk holds one m1.split only, so Nova's scheduler puts
        the two servers on the two hosts, and the doomed host's build fails.
        """
        if self.kind == CLOUDSIM:
            self.sim.control.fail_boots(count=1, message="Build of instance aborted.")
            return "1"
        return "91"

    def openstack_client(self, *arguments: str) -> None:
        """Run the `openstack` command as an operator would from a shell, in devel."""
        command = [
            str(Path(sys.executable).with_name("openstack")),
            "--os-project-name",
            TENANT_PROJECT,
            *arguments,
        ]
        env = dict(os.environ, OS_CLOUD=self.cloud_name)
        # The command is the virtualenv's own `openstack` with arguments from the tests.
        subprocess.run(  # noqa: S603
            command, env=env, check=True, capture_output=True, timeout=300
        )

    # --- inspecting --------------------------------------------------------------------------

    def leftovers(self) -> dict:
        """What of devel's servers, floating IPs and server ports the cloud still has."""
        conn = self.conn()
        project_id = conn.current_project_id
        return {
            "servers": [s.id for s in conn.compute.servers()],
            "floating_ips": [ip.id for ip in conn.network.ips(project_id=project_id)],
            "ports": [
                p.id
                for p in conn.network.ports(project_id=project_id)
                if (p.device_owner or "").startswith("compute:")
            ],
        }


def wait_until(predicate, *, timeout: float, interval: float = 0.5, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what or predicate}")
