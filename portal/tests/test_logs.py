"""Log lines: JSON in production, a request id from the API request into tasks and cloud
calls, and no secret anywhere in a full create and delete cycle run by a real worker."""

import io
import json
import logging
import os
import uuid

import pytest
import yaml

from accounts.tests.factories import issue_token
from compute.models import AuditEvent, WebhookDelivery
from compute.tests.conftest import create_body, image_id, wait_for, wait_for_stack
from portal.logs import JsonFormatter, RedactSecretsFilter, RequestIdFilter, request_id_var


def test_a_json_line_carries_the_request_id_and_no_secret():
    record = logging.LogRecord(
        "compute.services", logging.INFO, __file__, 1, "GET /x?access_token=%s", ("tok3n",), None
    )
    bound = request_id_var.set("req-1")
    try:
        RedactSecretsFilter().filter(record)
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(bound)

    line = json.loads(JsonFormatter().format(record))

    assert line["request_id"] == "req-1"
    assert line["level"] == "INFO"
    assert line["logger"] == "compute.services"
    assert "tok3n" not in line["message"]
    assert line["at"].endswith("Z")


@pytest.fixture
def captured_log():
    """Everything the configured console handler writes, the portal's loggers at DEBUG."""
    root = logging.getLogger()
    handler = next(
        h for h in root.handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    )
    buffer = io.StringIO()
    previous_stream = handler.setStream(buffer)
    ours = ("", "portal", "compute", "accounts", "portal.cloud_calls", "django")
    previous = {name: logging.getLogger(name).level for name in ours}
    for name in ours:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield buffer
    handler.setStream(previous_stream)
    for name, level in previous.items():
        logging.getLogger(name).setLevel(level)


def _clouds_yaml_secrets() -> list[str]:
    """The passwords and credential secrets of every cloud the portal logs in to."""
    with open(os.environ["OS_CLIENT_CONFIG_FILE"]) as clouds_yaml:
        clouds = yaml.safe_load(clouds_yaml)["clouds"]
    auths = [cloud.get("auth", {}) for cloud in clouds.values()]
    names = ("password", "application_credential_secret")
    return [auth[name] for auth in auths for name in names if auth.get(name)]


@pytest.mark.usefixtures("worker")
def test_a_full_stack_cycle_logs_its_request_ids_into_tasks_and_cloud_calls_and_no_secret(
    client, devel, settings, captured_log, cloudsim
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    token = client.post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": devel.client.client_id,
            "client_secret": devel.client.plain_secret,
        },
    ).json()["access_token"]
    create_id, delete_id = f"create-{uuid.uuid4().hex}", f"delete-{uuid.uuid4().hex}"
    body = create_body(image_id=image_id(client, devel), callback_url="http://127.0.0.1:1/hook")
    created = client.post(
        f"/openstack/compute?access_token={token}", body, HTTP_X_REQUEST_ID=create_id
    )
    name = created.json()["data"]["stack_name"]
    wait_for_stack(name, "ACTIVE")
    wait_for(
        lambda: WebhookDelivery.objects.filter(event="stack.active", state="FAILED").exists(),
        what="the create's callback to fail",
    )
    deleted = client.delete(
        f"/openstack/delete_instances?project_name=devel&stack_name={name}&access_token={token}",
        HTTP_X_REQUEST_ID=delete_id,
    )
    assert deleted.status_code == 200
    wait_for_stack(name, "DELETED")
    bearer = issue_token(devel.client)
    client.get("/openstack/instances", HTTP_AUTHORIZATION=f"Bearer {bearer}")

    lines = captured_log.getvalue().splitlines()
    tagged = {
        rid: [line for line in lines if f"[{rid}]" in line] for rid in (create_id, delete_id)
    }
    create_lines, delete_lines = "\n".join(tagged[create_id]), "\n".join(tagged[delete_id])
    # From the request, through the worker's steps, to the cloud calls they made.
    assert "POST /openstack/compute 200" in create_lines
    assert "Cloud call service=compute call=create_servers outcome=ok" in create_lines
    assert "Operation finished operation=" in create_lines
    assert "kind=CREATE state=SUCCEEDED" in create_lines
    # The callback is sent by a task of its own, queued by the create's last step.
    assert "Webhook attempt delivery=" in create_lines
    assert "event=stack.active status=None state=FAILED" in create_lines
    assert "Cloud call service=compute call=delete_server outcome=ok" in delete_lines
    assert "kind=DELETE state=SUCCEEDED" in delete_lines
    assert not any(create_id in line for line in tagged[delete_id])
    actions = dict(AuditEvent.objects.values_list("action", "request_id"))
    assert actions["stack.active"] == create_id
    assert actions["stack.deleted"] == delete_id

    captured = captured_log.getvalue()
    keystone_tokens = list(cloudsim.state.tokens)  # those the gateway logged in with
    cloud_secrets = _clouds_yaml_secrets()
    assert keystone_tokens
    assert cloud_secrets
    secrets_used = (
        token,
        bearer,
        devel.token,
        devel.client.plain_secret,
        devel.client.webhook_secret,
        *cloud_secrets,
        *keystone_tokens,
    )
    for secret in secrets_used:
        assert secret not in captured


@pytest.mark.django_db
def test_a_token_sent_under_a_percent_encoded_name_is_not_in_the_request_line(
    client, devel, captured_log
):
    token = issue_token(devel.client)
    url = f"/openstack/projects?access%5Ftoken={token}"
    # Django decodes the name, so the token authenticates under this spelling too.
    assert client.get(url).status_code == 200
    # The line the development server writes for it (gunicorn's would be the same).
    logging.getLogger("django.server").info('"%s" %s %s', f"GET {url} HTTP/1.1", "200", "97")

    captured = captured_log.getvalue()
    assert "access%5Ftoken=[redacted]" in captured
    assert token not in captured


@pytest.mark.parametrize(
    "line",
    [
        "Authorization: bearer {secret}",
        "GET /login?next=%2Fopenstack%2Fprojects%3Faccess_token%3D{secret}",
        '{{\\"access_token\\": \\"{secret}\\"}}',
        "GET /openstack/projects?access%255Ftoken={secret}&x=1",
        "client%5Fsecret={secret}&grant_type=client_credentials",
    ],
)
def test_a_secret_is_redacted_in_any_spelling_of_its_name_or_header(line):
    secret = "s3cr3tVALUE"
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, line.format(secret=secret), (), None
    )

    RedactSecretsFilter().filter(record)

    assert secret not in record.getMessage()
    assert "[redacted]" in record.getMessage()
