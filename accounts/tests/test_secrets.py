"""No usable secret at rest, and none in any log line of a full request cycle."""

import base64
import io
import logging

import pytest
from django.core.management import call_command

from accounts.tests.factories import ApiClientFactory
from compute.models import Cloud, Project

pytestmark = pytest.mark.django_db


def _get_token(client, api_client) -> str:
    response = client.post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": api_client.client_id,
            "client_secret": api_client.plain_secret,
        },
    )
    assert response.status_code == 200
    return response.json()["access_token"]


def test_database_holds_no_plaintext_secret_or_token(client):
    api_client = ApiClientFactory()
    token = _get_token(client, api_client)

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)

    assert api_client.plain_secret not in dump.getvalue()
    assert token not in dump.getvalue()
    # ...and yet both still work.
    assert client.get("/openstack/projects", {"access_token": token}).status_code == 200


@pytest.fixture
def console_log():
    """What the configured console handler writes, everything at DEBUG, libraries included."""
    from portal.logs import RedactSecretsFilter

    root = logging.getLogger()
    handler = next(
        h for h in root.handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    )
    buffer = io.StringIO()
    previous_stream = handler.setStream(buffer)
    noisy = ("", "oauthlib", "oauth2_provider", "django", "django.request")
    previous_levels = {name: logging.getLogger(name).level for name in noisy}
    for name in noisy:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield buffer
    handler.setStream(previous_stream)
    for name, level in previous_levels.items():
        logging.getLogger(name).setLevel(level)


def test_logs_of_a_full_request_cycle_hold_no_token_or_secret(client, console_log):
    api_client = ApiClientFactory()
    Project.objects.create(
        tenant=api_client.tenant, cloud=Cloud.objects.create(name="c"), name="devel"
    )
    secret = api_client.plain_secret
    token = _get_token(client, api_client)
    basic = base64.b64encode(f"{api_client.client_id}:{secret}".encode()).decode()
    client.post(
        "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": "x", "client_secret": secret[::-1]},
    )
    client.get("/openstack/projects", {"access_token": token})
    client.get("/openstack/projects", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get("/openstack/projects", {"access_token": token}, HTTP_AUTHORIZATION="Bearer x")
    client.get("/openstack/projects", {"access_token": token + "x"})
    client.delete(f"/openstack/projects?access_token={token}")
    client.get(f"/openstack/nowhere?access_token={token}")
    # What the development server and gunicorn print for each request line.
    logging.getLogger("django.server").info(
        '"GET /openstack/instances?access_token=%s&project_name=devel HTTP/1.1" 200 12', token
    )
    logging.getLogger("gunicorn.access").info(
        '"POST /oauth/token HTTP/1.1" body client_secret=%s', secret
    )

    captured = console_log.getvalue()
    assert "GET /openstack/projects" in captured, "the handler under test printed nothing"
    for value in (token, secret, basic, secret[::-1]):
        assert value not in captured
    assert "[redacted]" in captured


def test_every_configured_log_handler_redacts():
    from portal.logs import RedactSecretsFilter

    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    handlers = {handler for logger in loggers for handler in logger.handlers}
    # pytest's own capture handlers are not part of the portal's configuration.
    ours = [
        h
        for h in handlers
        if not type(h).__module__.startswith("_pytest") and not isinstance(h, logging.NullHandler)
    ]

    assert ours
    for handler in ours:
        assert any(isinstance(f, RedactSecretsFilter) for f in handler.filters), handler
