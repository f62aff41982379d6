"""The control API answers bad input with a 400 that names the field, and stores nothing."""

import pytest
import requests

from cloudsim.faults import Faults, Match
from cloudsim.tests.helpers import get_token


def _post(sim, path, body, method="POST"):
    return requests.request(method, sim.url + "/_sim" + path, json=body, timeout=10)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/faults/latency", {"seconds": 0.01, "count": "x"}, "count"),
        ("POST", "/faults/latency", {"seconds": 0.01, "count": 0}, "count"),
        ("POST", "/faults/latency", {"seconds": "abc"}, "seconds"),
        ("POST", "/faults/latency", {"seconds": -1}, "seconds"),
        ("POST", "/faults/latency", {"min": 0.01, "max": "abc"}, "max"),
        ("POST", "/faults/latency", {"seconds": [1]}, "seconds"),
        ("POST", "/faults/failures", {"action": "503", "count": 0}, "count"),
        ("POST", "/faults/failures", {"action": "503", "count": "x"}, "count"),
        ("POST", "/faults/failures", {"action": "503", "count": 1.5}, "count"),
        ("POST", "/faults/boots", {"slow_next": 2}, "boot_time"),
        ("POST", "/faults/boots", {"slow_next": "x", "boot_time": 1}, "slow_next"),
        ("POST", "/faults/boots", {"fail_next": "x"}, "fail_next"),
        ("POST", "/faults/boots", {"fail_probability": 2}, "fail_probability"),
        ("POST", "/faults/boots", {"fail_probability": "nan"}, "fail_probability"),
        ("PUT", "/config", {"boot_time": "abc"}, "boot_time"),
        ("PUT", "/config", {"delete_time": -1}, "delete_time"),
        ("PUT", "/quotas/devel", {"instances": "x"}, "instances"),
        ("PUT", "/quotas/devel", {"cores": -2}, "cores"),
        ("POST", "/servers", {"count": "x"}, "count"),
        ("POST", "/servers", {"count": 0}, "count"),
        ("POST", "/servers", {"status": "FLYING"}, "status"),
        ("POST", "/servers", {"metadata": ["a"]}, "metadata"),
        ("POST", "/servers", {"project": ["devel"]}, "project"),
    ],
)
def test_bad_control_input_is_a_400_naming_the_field(cloudsim, method, path, body, field):
    response = _post(cloudsim, path, body, method)

    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["message"]


def test_a_refused_rule_leaves_the_services_working(cloudsim):
    response = _post(
        cloudsim, "/faults/latency", {"seconds": 0.01, "count": "2x", "service": "image"}
    )
    assert response.status_code == 400

    token = get_token(cloudsim.url, "demo", "demo", "devel")
    images = requests.get(
        cloudsim.url + "/image/v2/images", headers={"X-Auth-Token": token}, timeout=10
    )
    assert images.status_code == 200
    assert cloudsim.control.faults()["latency"] == []


def test_a_count_given_as_text_counts_down_like_a_number(cloudsim):
    assert (
        _post(cloudsim, "/faults/failures", {"service": "image", "count": "2"}).status_code == 201
    )

    token = get_token(cloudsim.url, "demo", "demo", "devel")
    codes = [
        requests.get(
            cloudsim.url + "/image/v2/images", headers={"X-Auth-Token": token}, timeout=10
        ).status_code
        for _ in range(3)
    ]
    assert codes == [500, 500, 200]


def test_a_refused_change_changes_nothing(cloudsim):
    before_config = cloudsim.control.config()
    before_quota = cloudsim.control.quota("devel")["compute"]

    assert _post(cloudsim, "/config", {"boot_time": 5, "delete_time": "x"}, "PUT").status_code == (
        400
    )
    assert _post(cloudsim, "/quotas/devel", {"instances": 1, "cores": "x"}, "PUT").status_code == (
        400
    )
    assert _post(cloudsim, "/faults/boots", {"fail_next": 3, "slow_next": 1}).status_code == 400

    assert cloudsim.control.config() == before_config
    assert cloudsim.control.quota("devel")["compute"] == before_quota
    assert cloudsim.control.faults()["boots"]["fail_next"] == 0


def test_good_control_input_is_still_taken(cloudsim):
    assert _post(cloudsim, "/faults/boots", {"slow_next": 2, "boot_time": "1.5"}).json()[
        "slow"
    ] == [[1.5, 2]]
    assert cloudsim.control.config(boot_time=0.5, reboot_time=None)["boot_time"] == 0.5
    assert cloudsim.control.set_quota("devel", instances=-1)["compute"]["instances"] == -1
    assert len(cloudsim.control.seed_servers("devel", count="2")) == 2
    rule = _post(cloudsim, "/faults/failures", {"action": "503", "count": None})
    assert rule.status_code == 201


def test_faults_in_process_refuse_a_count_they_could_not_count_down():
    faults = Faults(seed=1)

    for count in ("2", 0, -1, True):
        with pytest.raises(ValueError, match="count"):
            faults.add_latency(Match(service="image"), 0.01, count=count)
        with pytest.raises(ValueError, match="count"):
            faults.add_failure(Match(service="image"), "503", count=count)

    assert faults.on_call("image", "GET", "/image/v2/images") == (0.0, None)
