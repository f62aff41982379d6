"""The seed's token endpoint: `POST /oauth/token` with client credentials."""

import base64

import pytest

from accounts import services
from accounts.tests.factories import ApiClientFactory

pytestmark = pytest.mark.django_db
TOKEN_URL = "/oauth/token"
GUESS = {"grant_type": "client_credentials", "client_id": "made-up", "client_secret": "x"}


def credentials(api_client, **fields) -> dict:
    """The form of a client-credentials token request by `api_client`, with `fields` changed."""
    return {
        "grant_type": "client_credentials",
        "client_id": api_client.client_id,
        "client_secret": api_client.plain_secret,
        **fields,
    }


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_token_with_form_fields_answers_the_seed_shape(client):
    api_client = ApiClientFactory()
    response = client.post(TOKEN_URL, credentials(api_client))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "created_at", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["created_at"], int)
    assert body["created_at"] > 1_700_000_000
    assert body["scope"].split() == ["compute:read", "compute:write", "billing:read"]
    assert len(body["access_token"]) >= 30
    assert response["Cache-Control"] == "no-store"


def test_token_with_http_basic_client_authentication(client):
    api_client = ApiClientFactory()
    response = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(api_client.client_id, api_client.plain_secret),
    )

    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"


def test_token_lifetime_follows_the_setting(client, settings):
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
        "ALWAYS_RELOAD_OAUTHLIB_CORE": True,
    }
    api_client = ApiClientFactory()
    response = client.post(TOKEN_URL, credentials(api_client))
    assert response.json()["expires_in"] == 600


def test_wrong_secret_is_invalid_client_401_in_the_envelope(client):
    api_client = ApiClientFactory()
    response = client.post(TOKEN_URL, credentials(api_client, client_secret="not-the-secret"))

    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401
    assert body["error"] == "invalid_client"
    assert "access_token" not in body


def test_unsupported_grant_is_400(client):
    api_client = ApiClientFactory()
    response = client.post(TOKEN_URL, credentials(api_client, grant_type="magic_beans"))

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert response.json()["status"] == 400


def test_other_grants_of_oauth_are_refused_to_api_clients(client):
    api_client = ApiClientFactory()
    response = client.post(
        TOKEN_URL,
        credentials(api_client, grant_type="password", username="someone", password="whatever"),
    )

    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "client_secret"])
def test_a_missing_field_is_400_naming_it(client, missing):
    api_client = ApiClientFactory()
    fields = credentials(api_client)
    del fields[missing]

    response = client.post(TOKEN_URL, fields)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert missing in response.json()["message"]


def test_repeated_failures_are_throttled_with_retry_after(client, settings):
    settings.TOKEN_FAILURE_LIMIT = 3
    api_client = ApiClientFactory()
    bad = credentials(api_client, client_secret="guess")
    for _ in range(3):
        assert client.post(TOKEN_URL, bad).status_code == 401

    # Even the right secret waits now: the guesser must not learn it was right.
    response = client.post(TOKEN_URL, {**bad, "client_secret": api_client.plain_secret})

    assert response.status_code == 429
    assert response.json()["status"] == 429
    assert int(response["Retry-After"]) >= 1


def test_failures_from_one_address_throttle_guesses_at_other_clients(client, settings):
    settings.TOKEN_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post(TOKEN_URL, GUESS)
    other = ApiClientFactory()

    response = client.post(TOKEN_URL, credentials(other))

    assert response.status_code == 429


def test_behind_the_proxy_one_guessers_failures_do_not_lock_out_another_caller(client, settings):
    settings.TOKEN_FAILURE_LIMIT = 2
    settings.FORWARDED_ALLOW_IPS = ["10.9.0.1"]
    through_proxy = {"REMOTE_ADDR": "10.9.0.1"}
    for _ in range(2):
        client.post(
            TOKEN_URL,
            GUESS,
            HTTP_X_FORWARDED_FOR="203.0.113.7",
            **through_proxy,
        )
    other = ApiClientFactory()
    fields = credentials(other)

    elsewhere = client.post(
        TOKEN_URL, fields, HTTP_X_FORWARDED_FOR="198.51.100.4", **through_proxy
    )
    # The guesser cannot hide behind an address it writes itself: the proxy appends the real one.
    guesser = client.post(
        TOKEN_URL, fields, HTTP_X_FORWARDED_FOR="198.51.100.4, 203.0.113.7", **through_proxy
    )

    assert elsewhere.status_code == 200
    assert guesser.status_code == 429


def test_a_forwarded_address_from_outside_the_proxies_is_not_believed(client, settings):
    settings.TOKEN_FAILURE_LIMIT = 2
    settings.FORWARDED_ALLOW_IPS = ["10.9.0.1"]
    for hop in ("192.0.2.1", "192.0.2.2"):
        client.post(
            TOKEN_URL,
            GUESS,
            HTTP_X_FORWARDED_FOR=hop,
            REMOTE_ADDR="203.0.113.7",
        )
    other = ApiClientFactory()

    response = client.post(
        TOKEN_URL,
        credentials(other),
        HTTP_X_FORWARDED_FOR="192.0.2.3",
        REMOTE_ADDR="203.0.113.7",
    )

    assert response.status_code == 429


def test_a_client_can_ask_for_fewer_scopes_but_not_more(client):
    api_client = ApiClientFactory(scope="compute:read")
    fields = credentials(api_client)

    assert client.post(TOKEN_URL, fields).json()["scope"] == "compute:read"
    refused = client.post(TOKEN_URL, {**fields, "scope": "compute:read compute:write"})
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


def test_a_disabled_client_gets_no_token(client):
    api_client = ApiClientFactory()
    services.api_client_disable(client=api_client)

    response = client.post(TOKEN_URL, credentials(api_client))

    assert response.status_code == 401


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_another_method_than_post_is_405_in_the_envelope(client, method):
    response = client.generic(method, "/oauth/token")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": 405,
        "message": f'Method "{method}" not allowed.',
        "data": {},
    }
    assert "POST" in response["Allow"]
