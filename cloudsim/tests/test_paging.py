"""Paging keeps a list's filters from page to page, and limits are Nova's, Neutron's and
Glance's own."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from cloudsim.tests.helpers import get_token


def _caller(sim, user, password, project):
    token = get_token(sim.url, user, password, project)

    def run(path_or_url):
        url = path_or_url if path_or_url.startswith("http") else sim.url + path_or_url
        return requests.get(url, headers={"X-Auth-Token": token}, timeout=10)

    return run


@pytest.fixture
def demo(cloudsim):
    return _caller(cloudsim, "demo", "demo", "devel")


@pytest.fixture
def operator(cloudsim):
    return _caller(cloudsim, "admin", "secret", "admin")


def test_the_sdk_finds_every_server_a_name_regex_matches_across_pages(cloudsim, devel):
    cloudsim.control.seed_servers("devel", count=3, name="web")
    cloudsim.control.seed_servers("devel", count=2, name="db")

    found = devel.compute.servers(name=r"^web-\d+$", limit=2)

    assert sorted(s.name for s in found) == ["web-1", "web-2", "web-3"]


def test_novas_next_link_carries_the_name_regex_unchanged(cloudsim, demo):
    cloudsim.control.seed_servers("devel", count=3, name="web")

    first = demo("/compute/v2.1/servers?name=%5Eweb-%5Cd%2B%24&limit=2").json()
    next_url = first["servers_links"][0]["href"]

    assert parse_qs(urlsplit(next_url).query)["name"] == [r"^web-\d+$"]
    assert [s["name"] for s in demo(next_url).json()["servers"]] == ["web-1"]


def test_novas_next_link_replaces_the_marker_it_was_given(cloudsim, demo):
    cloudsim.control.seed_servers("devel", count=5, name="web")

    first = demo("/compute/v2.1/servers?limit=2").json()
    second = demo(first["servers_links"][0]["href"]).json()
    query = parse_qs(urlsplit(second["servers_links"][0]["href"]).query)

    assert query["marker"] == [second["servers"][-1]["id"]]
    assert query["limit"] == ["2"]


def test_a_server_list_with_limit_zero_is_empty(cloudsim, demo):
    cloudsim.control.seed_servers("devel", count=2)

    for path in ("/compute/v2.1/servers?limit=0", "/compute/v2.1/servers/detail?limit=0"):
        response = demo(path)
        assert response.status_code == 200
        assert response.json() == {"servers": []}


def test_a_flavor_list_with_limit_zero_is_empty(demo):
    response = demo("/compute/v2.1/flavors?limit=0")

    assert response.status_code == 200
    assert response.json() == {"flavors": []}


def test_neutrons_next_link_keeps_the_filters(cloudsim, operator):
    cloudsim.control.seed_servers("devel", count=3)
    cloudsim.control.seed_servers("staging", count=3)
    devel_id = cloudsim.control.state()["projects"]["devel"]["id"]
    wanted = {
        p["id"] for p in operator("/network/v2.0/ports?project_id=" + devel_id).json()["ports"]
    }
    assert len(wanted) == 3
    assert len(operator("/network/v2.0/ports").json()["ports"]) > len(wanted)

    seen = []
    url = "/network/v2.0/ports?project_id=%s&limit=2" % devel_id
    while url:
        body = operator(url).json()
        seen += [p["id"] for p in body["ports"]]
        links = [link["href"] for link in body.get("ports_links", []) if link["rel"] == "next"]
        url = links[0] if links else None

    assert sorted(seen) == sorted(wanted)


def test_neutron_refuses_a_negative_limit(operator):
    response = operator("/network/v2.0/ports?limit=-1")

    assert response.status_code == 400
    assert "limit" in response.json()["NeutronError"]["message"]


def test_glances_next_link_keeps_the_filters(demo):
    body = demo("/image/v2/images?disk_format=qcow2&limit=1").json()

    query = parse_qs(urlsplit(body["next"]).query)
    assert query["disk_format"] == ["qcow2"]
    assert query["marker"] == [body["images"][0]["id"]]


def test_glance_refuses_a_negative_limit(demo):
    response = demo("/image/v2/images?limit=-1")

    assert response.status_code == 400
    assert "limit" in response.text
