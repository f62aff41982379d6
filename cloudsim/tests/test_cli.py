"""The real `openstack` command-line client against cloudsim, output read with -f json."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

OPENSTACK = str(Path(sys.executable).parent / "openstack")


@pytest.fixture
def cli(cloudsim):
    # The client's --wait polls every 5 s; servers that build and vanish at once keep
    # this test fast without changing what the client sees.
    cloudsim.control.config(boot_time=0, delete_time=0)
    env = cloudsim.env("cloudsim-devel")

    def run(*args: str):
        done = subprocess.run(
            [OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if "json" in args else done.stdout

    return run


def test_the_cli_lists_flavors_and_images(cli):
    with ThreadPoolExecutor(2) as pool:
        flavors, images = pool.map(
            lambda what: cli(what, "list", "-f", "json"), ["flavor", "image"]
        )
    assert {f["Name"] for f in flavors} >= {"m1.tiny", "m1.small", "m1.medium", "m1.large"}
    assert {i["Name"] for i in images} == {"cirros", "ubuntu-24.04"}


def test_the_cli_creates_addresses_and_deletes_servers(cli, cloudsim):
    created = cli(
        "server", "create", "--image", "cirros", "--flavor", "m1.tiny", "--min", "2",
        "--max", "2", "--wait", "web", "-f", "json",
    )  # fmt: skip
    assert created["status"] == "ACTIVE"

    listed = cli("server", "list", "-f", "json")
    assert sorted(s["Name"] for s in listed) == ["web-1", "web-2"]
    assert all(s["Status"] == "ACTIVE" and s["Networks"]["private"] for s in listed)

    fip = cli("floating", "ip", "create", "public", "-f", "json")
    address = fip["floating_ip_address"]
    cli("server", "add", "floating", "ip", "web-1", address)
    shown = cli("server", "show", "web-1", "-f", "json")
    assert address in shown["addresses"]["private"]

    cli("server", "delete", "--wait", "web-1", "web-2")
    assert cli("server", "list", "-f", "json") == []
    devel = cloudsim.control.state()["projects"]["devel"]
    assert devel["ports"] == []
    assert [f["port_id"] for f in devel["floating_ips"]] == [None]
