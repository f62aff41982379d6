"""Raw HTTP details the SDK and the CLI rely on: discovery, microversions, filters, paging,
identity queries and error bodies."""

import openstack
import pytest
import requests

from cloudsim.tests.helpers import get_token


@pytest.fixture
def call(cloudsim):
    token = get_token(cloudsim.url, "demo", "demo", "devel")

    def run(method, path, version=None, **kwargs):
        headers = {"X-Auth-Token": token}
        if version:
            headers["OpenStack-API-Version"] = "compute " + version
        return requests.request(method, cloudsim.url + path, headers=headers, timeout=10, **kwargs)

    return run


def test_version_documents_need_no_token(cloudsim):
    for path, status in (("/identity", 300), ("/identity/v3", 200), ("/compute", 200)):
        assert requests.get(cloudsim.url + path, timeout=5).status_code == status
    doc = requests.get(cloudsim.url + "/compute/v2.1/", timeout=5).json()["version"]
    assert (doc["min_version"], doc["version"]) == ("2.1", "2.96")
    assert requests.get(cloudsim.url + "/image", timeout=5).status_code == 300
    assert requests.get(cloudsim.url + "/network", timeout=5).json()["versions"][0]["id"] == "v2.0"


def test_microversions_are_negotiated_and_bounded(call):
    response = call("GET", "/compute/v2.1/flavors", "2.60")
    assert response.headers["OpenStack-API-Version"] == "compute 2.60"
    assert call("GET", "/compute/v2.1/flavors", "2.97").status_code == 406
    assert call("GET", "/compute/v2.1/flavors", "latest").headers["OpenStack-API-Version"] == (
        "compute 2.96"
    )
    assert call("GET", "/compute/v2.1/flavors").headers["OpenStack-API-Version"] == "compute 2.1"


def test_server_views_follow_the_microversion(cloudsim, call):
    server_id = cloudsim.control.seed_servers(count=1, tags=["t1"])[0]
    old = call("GET", "/compute/v2.1/servers/" + server_id, "2.1").json()["server"]
    new = call("GET", "/compute/v2.1/servers/" + server_id, "2.96").json()["server"]
    assert old["flavor"] == {"id": "1", "links": old["flavor"]["links"]}
    assert "tags" not in old
    assert new["flavor"]["original_name"] == "m1.tiny"
    assert new["tags"] == ["t1"]
    assert new["OS-EXT-STS:vm_state"] == "active"
    assert new["OS-EXT-AZ:availability_zone"] == "nova"
    assert new["hostId"]
    (address,) = new["addresses"]["private"]
    assert address["OS-EXT-IPS:type"] == "fixed"
    assert address["OS-EXT-IPS-MAC:mac_addr"].startswith("fa:16:3e:")


def test_unknown_ids_and_names_are_404(call):
    assert call("GET", "/compute/v2.1/servers/web-1").status_code == 404
    body = call("GET", "/compute/v2.1/flavors/m1.tiny").json()
    assert body == {"itemNotFound": {"code": 404, "message": "Flavor m1.tiny could not be found."}}
    assert call("GET", "/image/v2/images/cirros").status_code == 404
    body = call("GET", "/network/v2.0/networks/public").json()
    assert body["NeutronError"]["type"] == "NetworkNotFound"


def test_the_flavor_list_accepts_is_public_none(call):
    flavors = call("GET", "/compute/v2.1/flavors/detail", params={"is_public": "None"}).json()
    assert len(flavors["flavors"]) == 5


def test_the_name_filter_is_a_regular_expression(cloudsim, call):
    cloudsim.control.seed_servers(count=3, name="web")
    cloudsim.control.seed_servers(count=1, name="db")

    def names(pattern):
        servers = call("GET", "/compute/v2.1/servers", params={"name": pattern}).json()
        return sorted(s["name"] for s in servers["servers"])

    assert names("web") == ["web-1", "web-2", "web-3"]
    assert names("^web-[12]$") == ["web-1", "web-2"]
    assert names("b") == ["db", "web-1", "web-2", "web-3"]


def test_servers_page_with_limit_and_marker(cloudsim, call):
    ids = cloudsim.control.seed_servers(count=5)
    newest_first = list(reversed(ids))
    first = call("GET", "/compute/v2.1/servers/detail", params={"limit": 2}).json()
    assert [s["id"] for s in first["servers"]] == newest_first[:2]
    assert first["servers_links"][0]["rel"] == "next"
    second = call("GET", "/compute/v2.1/servers", params={"limit": 2, "marker": ids[3]}).json()
    assert [s["id"] for s in second["servers"]] == newest_first[2:4]
    assert call("GET", "/compute/v2.1/servers", params={"marker": "nope"}).status_code == 400


def test_status_filter_and_admin_all_tenants(cloudsim, call):
    cloudsim.control.seed_servers("devel", count=1, status="SHUTOFF")
    cloudsim.control.seed_servers("staging", count=2)
    shut = call("GET", "/compute/v2.1/servers", params={"status": "SHUTOFF"}).json()["servers"]
    assert len(shut) == 1
    assert call("GET", "/compute/v2.1/servers", params={"all_tenants": 1}).json()["servers"]
    admin = openstack.connect(cloud="cloudsim")
    staging_id = admin.identity.find_project("staging").id
    assert len(list(admin.compute.servers(all_projects=True, project_id=staging_id))) == 2
    assert len(list(admin.compute.servers(all_projects=True))) == 3


def test_ports_filter_by_device_and_network(cloudsim, call):
    server_id = cloudsim.control.seed_servers(count=2)[0]
    ports = call("GET", "/network/v2.0/ports", params={"device_id": server_id}).json()["ports"]
    assert [p["device_id"] for p in ports] == [server_id]
    assert ports[0]["device_owner"] == "compute:nova"
    network_id = ports[0]["network_id"]
    by_net = call("GET", "/network/v2.0/ports", params={"network_id": network_id}).json()
    assert len(by_net["ports"]) == 2
    ip = ports[0]["fixed_ips"][0]["ip_address"]
    by_ip = call("GET", "/network/v2.0/ports", params={"fixed_ips": "ip_address=" + ip}).json()
    assert [p["id"] for p in by_ip["ports"]] == [ports[0]["id"]]


def test_identity_lists_and_membership_checks(cloudsim):
    token = get_token(cloudsim.url, "admin", "secret", "admin")
    headers = {"X-Auth-Token": token}

    def get(path, **params):
        return requests.get(
            cloudsim.url + "/identity/v3" + path, headers=headers, params=params, timeout=5
        )

    (demo,) = get("/users", name="demo").json()["users"]
    (devel,) = get("/projects", name="devel").json()["projects"]
    found = get("/role_assignments", **{"user.id": demo["id"], "scope.project.id": devel["id"]})
    roles = {a["role"]["id"] for a in found.json()["role_assignments"]}
    assert len(roles) == 2
    assert [p["name"] for p in get("/users/%s/projects" % demo["id"]).json()["projects"]] == [
        "devel"
    ]
    demo_token = get_token(cloudsim.url, "demo", "demo", "devel")
    response = requests.get(
        cloudsim.url + "/identity/v3/users", headers={"X-Auth-Token": demo_token}, timeout=5
    )
    assert response.status_code == 403


def test_application_credentials_authenticate(cloudsim):
    conn = openstack.connect(cloud="cloudsim-devel")
    cred = conn.identity.create_application_credential(conn.current_user_id, name="portal")
    app = openstack.connect(
        auth_type="v3applicationcredential",
        auth_url=cloudsim.auth_url,
        application_credential_id=cred.id,
        application_credential_secret=cred.secret,
    )
    assert app.current_project_id == conn.current_project_id
    assert len(list(app.compute.flavors())) == 5


def test_keystone_token_body_has_what_the_sdk_reads(cloudsim):
    token = get_token(cloudsim.url, "demo", "demo", "devel")
    response = requests.get(
        cloudsim.url + "/identity/v3/auth/tokens",
        headers={"X-Auth-Token": token, "X-Subject-Token": token},
        timeout=5,
    )
    body = response.json()["token"]
    assert body["project"]["name"] == "devel"
    assert {e["type"] for e in body["catalog"]} == {"identity", "compute", "image", "network"}
    interfaces = {e["interface"] for e in body["catalog"][1]["endpoints"]}
    assert interfaces == {"public", "internal", "admin"}
    assert body["expires_at"].endswith("Z")


def test_an_injected_503_answers_in_novas_service_unavailable_body(cloudsim, call):
    cloudsim.control.fail_next("compute", path="/flavors", action="503")

    response = call("GET", "/compute/v2.1/flavors")

    assert response.status_code == 503
    assert response.json() == {
        "serviceUnavailable": {"code": 503, "message": "cloudsim injected a 503 fault."}
    }
