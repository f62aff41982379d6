"""The state file: a restart of cloudsim keeps servers, ports, floating IPs and tokens."""

import signal
import subprocess
import sys
from pathlib import Path

import openstack
import requests
import yaml

from cloudsim.server import start
from cloudsim.tests.helpers import get_token

REPO = Path(__file__).resolve().parents[2]


def test_a_saved_state_is_loaded_by_the_next_server(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    first = start(state_file=path, boot_time=0, delete_time=0)
    ids = first.control.seed_servers("devel", count=2, metadata={"stack": "kept"})
    first.control.set_quota("devel", instances=7)
    token = get_token(first.url, "demo", "demo", "devel")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(first.write_clouds_yaml(tmp_path / "c.yaml")))
    conn = openstack.connect(cloud="cloudsim-devel")
    port = next(conn.network.ports(device_id=ids[0]))
    public = conn.network.find_network("public")
    fip = conn.network.create_ip(floating_network_id=public.id, port_id=port.id)
    first.stop()

    second = start(state_file=path, boot_time=0, delete_time=0)
    try:
        devel = second.control.state()["projects"]["devel"]
        assert sorted(s["id"] for s in devel["servers"]) == sorted(ids)
        assert devel["quota"]["compute"]["instances"] == 7
        assert [f["port_id"] for f in devel["floating_ips"]] == [port.id]
        # The old token still works, so a client need not log in again after a restart.
        response = requests.get(
            second.url + "/compute/v2.1/servers/" + ids[0],
            headers={"X-Auth-Token": token},
            timeout=5,
        )
        addresses = response.json()["server"]["addresses"]["private"]
        assert fip.floating_ip_address in [a["addr"] for a in addresses]
        # New addresses do not collide with the restored ones.
        new = second.control.seed_servers("devel", count=1)[0]
        fixed = {p["fixed_ips"][0] for p in second.control.state()["projects"]["devel"]["ports"]}
        assert len(fixed) == 3
        assert new
    finally:
        second.stop()


def test_the_command_line_serves_writes_clouds_yaml_and_saves_on_sigterm(tmp_path):
    clouds = tmp_path / "clouds.yaml"
    state = tmp_path / "state.json"
    command = [
        sys.executable, "-m", "cloudsim", "--port", "0", "--clouds-yaml", str(clouds),
        "--state", str(state), "--boot-time", "0",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert "clouds.yaml written" in lines[0]
        config = yaml.safe_load(clouds.read_text())
        assert set(config["clouds"]) == {
            "cloudsim", "cloudsim-admin", "cloudsim-devel", "cloudsim-staging",
        }  # fmt: skip
        assert config["clouds"]["cloudsim-devel"]["auth"]["username"] == "demo"
        url = config["clouds"]["cloudsim"]["auth"]["auth_url"].rsplit("/identity", 1)[0]
        requests.post(url + "/_sim/servers", json={"count": 1}, timeout=5).raise_for_status()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert '"servers"' in state.read_text()
