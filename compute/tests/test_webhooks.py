"""Callbacks: a stack's end is POSTed to its callback URL, signed, and retried until it lands."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from compute import tasks
from compute.models import Instance, Stack, WebhookDelivery
from compute.tests.conftest import delete, launch, wait_for, wait_for_stack

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
def receiver():
    """A local endpoint that answers 500 to the first event, then 204, and keeps what came."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(500 if len(received) == 1 else 204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_active_and_deleted_events_are_signed_and_retried(
    client, devel, cloudsim, receiver, settings
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.1
    url, received = receiver

    name = launch(client, devel, callback_url=url)
    wait_for_stack(name, "ACTIVE")
    wait_for(lambda: len(received) == 2, what="the retried delivery")
    delete_response = client.delete(
        f"/openstack/delete_instances?project_name=devel&stack_name={name}&callback_url={url}",
        **devel.auth(),
    )
    assert delete_response.status_code == 200
    wait_for_stack(name, "DELETED")
    wait_for(lambda: len(received) == 3, what="the deleted event")

    events = [json.loads(body) for _, body in received]
    assert [e["event"] for e in events] == ["stack.active", "stack.active", "stack.deleted"]
    assert events[0]["stack_name"] == name
    assert len(events[0]["instances"]) == 2
    secret = devel.client.webhook_secret.encode()
    for headers, body in received:
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        assert headers["X-IPAAS-Signature"] == f"sha256={expected}"
    deliveries = WebhookDelivery.objects.order_by("created")
    assert [(d.event, d.state, d.attempts) for d in deliveries] == [
        ("stack.active", "DELIVERED", 2),
        ("stack.deleted", "DELIVERED", 1),
    ]


def test_a_receiver_that_never_answers_well_ends_failed_after_the_last_attempt(
    client, devel, cloudsim, settings
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5

    name = launch(client, devel, callback_url="http://127.0.0.1:9/nobody-listens")
    wait_for_stack(name, "ACTIVE")

    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(state="FAILED").first(), what="delivery to fail"
    )
    assert delivery.attempts == 3
    assert delivery.last_error
    delete(client, devel, name)
    wait_for_stack(name, "DELETED")


def test_a_stack_whose_servers_vanished_from_the_cloud_sends_its_deleted_event(
    client, devel, cloudsim, receiver, settings
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.1
    url, received = receiver
    name = launch(client, devel, instance_count="1", callback_url=url)
    wait_for_stack(name, "ACTIVE")
    wait_for(lambda: len(received) == 2, what="the active event")
    for instance in Instance.objects.filter(stack__name=name):
        cloudsim.control.server_delete(instance.server_id)

    tasks.reconcile_project(devel.project.pk)

    assert Stack.objects.get(name=name).state == "DELETED"
    wait_for(lambda: len(received) == 3, what="the deleted event")
    event = json.loads(received[-1][1])
    assert (event["event"], event["stack_name"], event["state"]) == (
        "stack.deleted",
        name,
        "DELETED",
    )
    assert event["instances"] == []
