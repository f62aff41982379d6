"""Operators manage tenants and API clients in admin; a secret is shown once, then never."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import ApiClient, PersonSettings
from accounts.tests.factories import ApiClientFactory, TenantFactory, issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    operator = get_user_model().objects.create_superuser("operator", "op@example.test", "pw")
    client.force_login(operator)
    return client


def test_a_new_clients_secret_is_shown_once_and_only_its_hash_kept(operator_client):
    tenant = TenantFactory(name="acme")
    response = operator_client.post(
        "/admin/accounts/apiclient/add/",
        {"tenant": tenant.pk, "name": "billing-robot", "scope": "billing:read", "is_active": "on"},
    )

    assert response.status_code == 200
    api_client = ApiClient.objects.get(name="billing-robot")
    secret = response.context["client_secret"]
    assert secret in response.content.decode()
    assert api_client.client_secret != secret
    assert api_client.client_secret.startswith("md5$")
    change_page = operator_client.get(f"/admin/accounts/apiclient/{api_client.pk}/change/")
    assert secret not in change_page.content.decode()

    token = operator_client.post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": api_client.client_id,
            "client_secret": secret,
        },
    )
    assert token.json()["scope"] == "billing:read"


def test_revoke_tokens_action_makes_them_unusable(operator_client):
    api_client = ApiClientFactory()
    token = issue_token(api_client)
    operator_client.post(
        "/admin/accounts/apiclient/",
        {"action": "revoke_tokens", "_selected_action": [api_client.pk]},
    )
    operator_client.logout()

    assert operator_client.get("/openstack/projects", {"access_token": token}).status_code == 401


def test_rotate_secret_action_shows_the_new_secret_and_retires_the_old(operator_client):
    api_client = ApiClientFactory()
    response = operator_client.post(
        "/admin/accounts/apiclient/",
        {"action": "rotate_secret", "_selected_action": [api_client.pk]},
    )
    new_secret = response.context["client_secret"]
    fields = {"grant_type": "client_credentials", "client_id": api_client.client_id}

    assert (
        operator_client.post("/oauth/token", {**fields, "client_secret": new_secret}).status_code
        == 200
    )
    old = operator_client.post(
        "/oauth/token", {**fields, "client_secret": api_client.plain_secret}
    )
    assert old.status_code == 401


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/tenant/?q=acme",
        "/admin/accounts/membership/?role=owner",
        "/admin/accounts/apiclient/?is_active__exact=1&q=robot",
        "/admin/compute/project/?q=devel",
        "/admin/accounts/personsettings/?q=operator",
    ],
)
def test_admin_lists_search_and_filter(operator_client, url):
    ApiClientFactory(name="robot", tenant=TenantFactory(name="acme"))
    assert operator_client.get(url).status_code == 200


def test_a_persons_time_zone_is_set_in_admin_and_a_misspelt_one_refused(operator_client):
    person = get_user_model().objects.create_user("carol", "carol@example.test", "pw")
    url = "/admin/accounts/personsettings/add/"

    refused = operator_client.post(url, {"user": person.pk, "timezone": "Europe/Pariss"})
    assert "is not a time zone" in refused.content.decode()
    assert not PersonSettings.objects.exists()

    operator_client.post(url, {"user": person.pk, "timezone": "Europe/Paris"})
    assert PersonSettings.objects.get(user=person).timezone == "Europe/Paris"


def test_adding_a_client_with_an_unknown_scope_shows_a_form_error(operator_client):
    tenant = TenantFactory(name="acme")

    response = operator_client.post(
        "/admin/accounts/apiclient/add/",
        {"tenant": tenant.pk, "name": "robot", "scope": "compute:read admin", "is_active": "on"},
    )

    assert response.status_code == 200
    assert "Unknown scope(s): admin." in response.content.decode()
    assert not ApiClient.objects.filter(name="robot").exists()


def test_changing_a_clients_scopes_to_garbage_is_refused_and_known_ones_are_kept(
    operator_client,
):
    api_client = ApiClientFactory(name="robot", tenant=TenantFactory(name="acme"))
    url = f"/admin/accounts/apiclient/{api_client.pk}/change/"
    form = {"tenant": api_client.tenant.pk, "name": "robot", "is_active": "on"}

    refused = operator_client.post(url, {**form, "scope": "everything"})
    accepted = operator_client.post(url, {**form, "scope": "billing:read compute:read"})

    assert refused.status_code == 200
    assert "Unknown scope(s): everything." in refused.content.decode()
    assert accepted.status_code == 302
    api_client.refresh_from_db()
    assert api_client.scope == "compute:read billing:read"


def test_the_page_showing_a_new_secret_is_neither_cached_nor_sent_as_a_referrer(
    operator_client,
):
    tenant = TenantFactory(name="acme")

    response = operator_client.post(
        "/admin/accounts/apiclient/add/",
        {"tenant": tenant.pk, "name": "robot", "scope": "compute:read", "is_active": "on"},
    )

    assert response.context["client_secret"] in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
