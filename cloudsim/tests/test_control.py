"""The control API under /_sim/: faults, quotas, state, counts, reset, out-of-band changes."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from cloudsim.control import SimControl, SimControlError
from cloudsim.tests.helpers import get_token


@pytest.fixture
def token(cloudsim):
    return get_token(cloudsim.url, "demo", "demo", "devel")


def _get(sim, path, token, **kwargs):
    return requests.get(sim.url + path, headers={"X-Auth-Token": token}, timeout=10, **kwargs)


def test_latency_applies_to_matching_calls_only(cloudsim, token):
    cloudsim.control.add_latency(0.3, service="compute", path="/flavors")
    started = time.monotonic()
    assert _get(cloudsim, "/compute/v2.1/flavors", token).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert _get(cloudsim, "/image/v2/images", token).status_code == 200
    assert time.monotonic() - started < 0.3


def test_random_latency_stays_in_its_range_and_count(cloudsim, token):
    cloudsim.control.add_latency(min=0.05, max=0.1, service="image", count=2)
    for expect_slow in (True, True, False):
        started = time.monotonic()
        _get(cloudsim, "/image/v2/images", token)
        elapsed = time.monotonic() - started
        assert (elapsed >= 0.05) is expect_slow


def test_concurrent_clients_wait_for_latency_in_parallel(cloudsim, token):
    cloudsim.control.seed_servers(count=50)
    cloudsim.control.add_latency(0.5, service="compute")
    started = time.monotonic()
    with ThreadPoolExecutor(30) as pool:
        codes = list(
            pool.map(lambda _: _get(cloudsim, "/compute/v2.1/servers/detail", token), range(30))
        )
    assert [c.status_code for c in codes] == [200] * 30
    assert all(len(c.json()["servers"]) == 50 for c in codes)
    assert time.monotonic() - started < 3.0


def test_the_next_n_calls_fail_then_the_cloud_recovers(cloudsim, token):
    cloudsim.control.fail_next("compute", method="GET", path="/flavors$", action="500", count=2)
    codes = [_get(cloudsim, "/compute/v2.1/flavors", token).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    failed = cloudsim.control.fail_next("network", action="503", count=1)
    response = _get(cloudsim, "/network/v2.0/networks", token)
    assert response.status_code == 503
    assert response.json()["NeutronError"]["type"] == "HTTPServiceUnavailable"
    assert failed >= 1
    assert cloudsim.control.faults()["failures"] == []


def test_a_dropped_connection_gets_no_answer(cloudsim, token):
    cloudsim.control.fail_next("image", action="drop")
    with pytest.raises(requests.ConnectionError):
        _get(cloudsim, "/image/v2/images", token)
    assert _get(cloudsim, "/image/v2/images", token).status_code == 200


def test_a_shrunk_quota_refuses_creates(cloudsim, token):
    quota = cloudsim.control.set_quota("devel", instances=1, cores=4, ram=1024, floating_ips=0)
    assert quota["compute"]["instances"] == 1
    assert quota["network"]["floatingip"] == 0
    body = {"server": {"name": "a", "imageRef": _image_id(cloudsim, token), "flavorRef": "2"}}
    url = cloudsim.url + "/compute/v2.1/servers"
    response = requests.post(url, json=body, headers={"X-Auth-Token": token}, timeout=10)
    assert response.status_code == 403
    message = response.json()["forbidden"]["message"]
    assert message == "Quota exceeded for ram: Requested 2048, but already used 0 of 1024 ram"


def _image_id(sim, token):
    return _get(sim, "/image/v2/images", token, params={"name": "cirros"}).json()["images"][0][
        "id"
    ]


def test_the_state_dump_shows_each_projects_resources(cloudsim):
    ids = cloudsim.control.seed_servers("staging", count=2, name="st", metadata={"k": "v"})
    cloudsim.control.seed_servers("devel", count=1, status="ERROR", message="boom")
    state = cloudsim.control.state()
    staging = state["projects"]["staging"]
    assert sorted(s["id"] for s in staging["servers"]) == sorted(ids)
    assert {s["name"] for s in staging["servers"]} == {"st-1", "st-2"}
    assert len(staging["ports"]) == 2
    assert staging["usage"]["instances"] == 2
    devel = state["projects"]["devel"]
    assert devel["servers"][0]["status"] == "ERROR"
    assert devel["servers"][0]["fault"] == "boom"
    assert state["totals"]["servers"] == 3


def test_calls_are_counted_per_service_and_route(cloudsim, token):
    cloudsim.control.clear_calls()
    server_id = cloudsim.control.seed_servers(count=1)[0]
    _get(cloudsim, "/compute/v2.1/servers/" + server_id, token)
    _get(cloudsim, "/compute/v2.1/servers/" + server_id, token)
    _get(cloudsim, "/network/v2.0/ports", token)
    calls = cloudsim.control.calls()
    assert calls["by_route"]["GET /compute/v2.1/servers/{id}"] == 2
    assert calls["by_service"] == {"compute": 2, "network": 1}
    assert calls["total"] == 3


def test_reset_returns_to_the_preset(cloudsim, token):
    cloudsim.control.seed_servers(count=3)
    cloudsim.control.set_quota("devel", instances=0)
    cloudsim.control.config(boot_time=9)
    cloudsim.control.fail_next("compute", count=None)
    cloudsim.control.reset()
    state = cloudsim.control.state()
    assert (state["totals"]["servers"], state["totals"]["ports"]) == (0, 0)
    assert state["projects"]["devel"]["quota"]["compute"]["instances"] == 10
    assert cloudsim.control.config()["boot_time"] == 0.2
    assert _get(cloudsim, "/compute/v2.1/flavors", token).status_code == 200


def test_slow_boots_stay_in_build_longer(cloudsim, token):
    cloudsim.control.slow_boots(0.6, count=1)
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.96"}
    body = {"server": {"name": "slow", "imageRef": _image_id(cloudsim, token), "flavorRef": "1"}}
    url = cloudsim.url + "/compute/v2.1/servers"
    slow = requests.post(url, json=body, headers=headers, timeout=10).json()["server"]["id"]
    fast = requests.post(url, json=body, headers=headers, timeout=10).json()["server"]["id"]
    time.sleep(0.35)
    statuses = {
        s["id"]: s["status"]
        for s in requests.get(url + "/detail", headers=headers, timeout=10).json()["servers"]
    }
    assert statuses == {slow: "BUILD", fast: "ACTIVE"}


def test_boots_fail_with_a_probability(cloudsim):
    cloudsim.control.fail_boots(probability=1.0, message="host on fire")
    ids = _api_boot(cloudsim, count=3)
    time.sleep(0.3)
    servers = cloudsim.control.state()["projects"]["devel"]["servers"]
    assert sorted(s["id"] for s in servers) == sorted(ids)
    assert {(s["status"], s["fault"]) for s in servers} == {("ERROR", "host on fire")}


def _api_boot(sim, count):
    token = get_token(sim.url, "demo", "demo", "devel")
    body = {
        "server": {
            "name": "p",
            "imageRef": _image_id(sim, token),
            "flavorRef": "1",
            "min_count": count,
            "max_count": count,
        }
    }
    requests.post(
        sim.url + "/compute/v2.1/servers", json=body, headers={"X-Auth-Token": token}, timeout=10
    ).raise_for_status()
    return [s["id"] for s in sim.control.state()["projects"]["devel"]["servers"]]


def test_servers_change_out_of_band(cloudsim, token):
    stopped, gone = cloudsim.control.seed_servers(count=2)
    cloudsim.control.server_stop(stopped)
    cloudsim.control.server_delete(gone)
    shown = _get(cloudsim, "/compute/v2.1/servers/" + stopped, token).json()["server"]
    assert shown["status"] == "SHUTOFF"
    assert _get(cloudsim, "/compute/v2.1/servers/" + gone, token).status_code == 404
    cloudsim.control.server_error(stopped, "disk gone")
    shown = _get(cloudsim, "/compute/v2.1/servers/" + stopped, token).json()["server"]
    assert (shown["status"], shown["fault"]["message"]) == ("ERROR", "disk gone")


def test_the_control_client_reports_refusals(cloudsim):
    with pytest.raises(SimControlError) as caught:
        cloudsim.control.set_quota("nowhere", instances=1)
    assert caught.value.status == 404
    with pytest.raises(ValueError, match="http"):
        SimControl("file:///etc").health()
