"""Tokens on API requests: by query, body or header; expired, revoked, doubled, out of scope."""

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from accounts import services
from accounts.tests.factories import ApiClientFactory, TenantFactory, issue_token
from compute.models import Cloud, Project

pytestmark = pytest.mark.django_db
URL = "/openstack/projects"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def project_of(db):
    cloud = Cloud.objects.create(name="cloudsim")

    def make(tenant, name):
        return Project.objects.create(tenant=tenant, cloud=cloud, name=name, openstack_id=name)

    return make


def _names(response) -> list[str]:
    return [project["name"] for project in response.json()["data"]["projects"]]


def test_token_in_the_query_string(client, tenant_client, project_of):
    api_client, token = tenant_client
    project_of(api_client.tenant, "devel")

    response = client.get(URL, {"access_token": token})

    assert response.status_code == 200
    assert response.json() == {
        "status": 200,
        "message": "success",
        "data": {"projects": [{"name": "devel", "id": "devel", "cloud": "cloudsim"}]},
    }


def test_token_in_a_form_body(client, tenant_client):
    _, token = tenant_client
    response = client.generic("GET", URL, f"access_token={token}", content_type=FORM)
    assert response.status_code == 200


def test_token_in_a_json_body(client, tenant_client):
    _, token = tenant_client
    response = client.generic(
        "GET", URL, f'{{"access_token": "{token}"}}', content_type="application/json"
    )
    assert response.status_code == 200


def test_token_in_the_bearer_header(client, tenant_client):
    _, token = tenant_client
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_no_token_is_401_in_the_envelope(client, db):
    response = client.get(URL)

    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert response.json()["data"] == {}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_401(client, db):
    response = client.get(URL, {"access_token": "no-such-token"})
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_expired_token_is_401(client, tenant_client):
    _, token = tenant_client
    get_access_token_model().objects.update(expires=timezone.now() - timedelta(seconds=1))

    response = client.get(URL, {"access_token": token})

    assert response.status_code == 401


def test_revoked_token_is_401(client, tenant_client):
    api_client, token = tenant_client
    assert client.get(URL, {"access_token": token}).status_code == 200

    services.api_client_revoke_tokens(client=api_client)

    assert client.get(URL, {"access_token": token}).status_code == 401


def test_token_of_a_disabled_client_stops_working(client, tenant_client):
    api_client, token = tenant_client
    api_client.is_active = False
    api_client.save()
    assert client.get(URL, {"access_token": token}).status_code == 401


def test_token_sent_two_ways_at_once_is_400(client, tenant_client):
    _, token = tenant_client
    response = client.get(URL, {"access_token": token}, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert "one way" in response.json()["message"]


def test_a_token_without_the_endpoints_scope_is_403(client, db):
    api_client = ApiClientFactory(scope="billing:read")
    token = issue_token(api_client)

    response = client.get(URL, {"access_token": token})

    assert response.status_code == 403
    assert response.json()["status"] == 403


def test_a_client_sees_only_its_own_tenants_projects(client, project_of):
    tenant_a, tenant_b = TenantFactory(name="alpha"), TenantFactory(name="bravo")
    project_of(tenant_a, "alpha-devel")
    project_of(tenant_b, "bravo-devel")
    token_b = issue_token(ApiClientFactory(tenant=tenant_b))

    # A tenant parameter cannot widen what the token's tenant sees.
    response = client.get(URL, {"access_token": token_b, "tenant": "alpha"})

    assert _names(response) == ["bravo-devel"]


def test_api_answers_tell_browsers_not_to_leak_the_url(client, tenant_client):
    _, token = tenant_client
    response = client.get(URL, {"access_token": token})

    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"


def test_unknown_api_path_is_404_in_the_envelope(client, db):
    response = client.get("/openstack/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": "Not found.", "data": {}}


def test_wrong_method_is_405_in_the_envelope(client, tenant_client):
    _, token = tenant_client
    response = client.delete(f"{URL}?access_token={token}")

    assert response.status_code == 405
    assert response.json()["status"] == 405


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/openstack/compute"),
        ("DELETE", "/openstack/delete_instances?project_name=p&stack_name=s&"),
    ],
)
def test_a_malformed_json_body_is_a_400_saying_so_not_an_empty_body(
    client, tenant_client, method, url
):
    _, token = tenant_client
    separator = "" if url.endswith("&") else "?"
    response = client.generic(
        method,
        f"{url}{separator}access_token={token}",
        '{"instances": 1,',
        content_type="application/json",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400
    assert body["message"].startswith("Malformed request body: JSON parse error")
