"""The operator's commands: create_tenant, create_api_client, seed_demo."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiClient, Membership, Tenant
from compute.models import Project

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_tenant_with_owner_is_idempotent():
    _run("create_tenant", "acme", "--owner", "alice")
    _run("create_tenant", "acme", "--owner", "alice")

    tenant = Tenant.objects.get(name="acme")
    assert Membership.objects.get(tenant=tenant).role == "owner"


def test_create_api_client_json_prints_a_secret_that_gets_a_token(client):
    _run("create_tenant", "acme")
    printed = json.loads(
        _run("create_api_client", "acme", "--name", "ci", "--scope", "compute:read", "--json")
    )

    assert set(printed) >= {"client_id", "client_secret"}
    response = client.post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": printed["client_id"],
            "client_secret": printed["client_secret"],
        },
    )
    assert response.json()["scope"] == "compute:read"
    assert ApiClient.objects.get(client_id=printed["client_id"]).tenant.name == "acme"


def test_create_api_client_for_an_unknown_tenant_fails_clearly():
    with pytest.raises(CommandError, match="No tenant named"):
        _run("create_api_client", "nobody", "--name", "x")


def test_seed_demo_twice_gives_one_demo(settings, tmp_path, client):
    settings.VAR_DIR = tmp_path
    _run("seed_demo")
    _run("seed_demo")

    tenant = Tenant.objects.get(name="demo")
    assert Project.objects.get(tenant=tenant).name == "devel"
    assert ApiClient.objects.filter(tenant=tenant).count() == 1
    credentials = json.loads((tmp_path / "demo-client.json").read_text())
    assert client.login(username="demo", password="demo")
    token = client.post("/oauth/token", {"grant_type": "client_credentials", **credentials})
    assert token.status_code == 200
