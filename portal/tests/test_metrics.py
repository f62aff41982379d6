"""`/metrics`: guarded by a token or a network, and what an operator reads there."""

import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from compute import services, tasks
from compute.models import Stack, WebhookDelivery
from compute.tests.conftest import create_body, image_id
from portal import metrics
from portal.logs import RequestIdFilter, request_id_var

pytestmark = pytest.mark.django_db


def _samples(response) -> dict:
    """{(name, frozenset(labels)): value} of a scrape."""
    text = response.content.decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels) -> float:
    """The sample's value; a missing sample fails the test, so `== 0` means a real zero."""
    key = (name, frozenset(labels.items()))
    assert key in samples, f"no sample {name} {labels}; has {_like(samples, name)}"
    return samples[key]


def _like(samples: dict, name: str) -> list:
    return sorted(dict(labels) for sample, labels in samples if sample == name)


def test_metrics_need_the_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    settings.METRICS_ALLOWED_NETWORKS = []

    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    allowed = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert allowed.status_code == 200
    assert allowed["Content-Type"].startswith("text/plain")


def test_metrics_answer_only_allowed_networks_and_nobody_when_unguarded(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200

    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403


def test_metrics_count_requests_by_route_tasks_cloud_calls_and_stacks_by_state(client, devel):
    headers = devel.auth()
    client.get("/openstack/projects", **headers)
    client.get("/openstack/stacks/stack_r-nothere", **headers)
    body = create_body(image_id=image_id(client, devel))
    assert client.post("/openstack/compute", body, **headers).status_code == 200
    tasks.watchdog.apply()

    samples = _samples(client.get("/metrics"))

    assert _value(samples, "ipaas_http_requests_total", route="api-project-list",
                  method="GET", status="200") >= 1  # fmt: skip
    # The route's name, not the path with its stack name.
    assert _value(samples, "ipaas_http_requests_total", route="api-stack-detail",
                  method="GET", status="404") >= 1  # fmt: skip
    assert not any("stack_r-nothere" in str(labels) for _, labels in samples)
    assert _value(samples, "ipaas_http_request_duration_seconds_count",
                  route="api-stack-create", method="POST") >= 1  # fmt: skip
    assert _value(samples, "ipaas_cloud_calls_total", service="compute", call="flavors",
                  outcome="ok") >= 1  # fmt: skip
    assert _value(samples, "ipaas_cloud_call_duration_seconds_count", service="identity",
                  call="member_names") >= 1  # fmt: skip
    assert _value(samples, "ipaas_celery_tasks_total", task="compute.watchdog",
                  outcome="success") >= 1  # fmt: skip
    assert _value(samples, "ipaas_celery_task_duration_seconds_count",
                  task="compute.watchdog") >= 1  # fmt: skip
    assert _value(samples, "ipaas_stacks", state="CREATING") == 1
    assert _value(samples, "ipaas_stacks", state="ACTIVE") == 0
    assert _value(samples, "ipaas_operations_open", kind="CREATE", step="create_servers") == 1
    assert _value(samples, "ipaas_webhook_deliveries", state="PENDING") == 0
    assert _value(samples, "ipaas_metrics_database_up") == 1


def test_a_missing_sample_fails_rather_than_reading_as_zero():
    with pytest.raises(AssertionError, match="no sample"):
        _value({}, "ipaas_stacks", state="ACTIVE")


def test_metrics_count_a_failed_webhook_attempt_and_the_failed_delivery(client, devel, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    body = create_body(image_id=image_id(client, devel))
    assert client.post("/openstack/compute", body, **devel.auth()).status_code == 200
    operation = Stack.objects.get().operations.get()
    delivery = WebhookDelivery.objects.create(
        operation=operation, url="http://127.0.0.1:1/hook", event="stack.active", payload={}
    )
    key = ("ipaas_webhook_attempts_total", frozenset({"outcome": "failed"}))
    before = _samples(client.get("/metrics")).get(key, 0.0)  # counters live per process

    assert services.webhook_deliver(delivery_id=delivery.pk) is None

    samples = _samples(client.get("/metrics"))
    assert _value(samples, "ipaas_webhook_attempts_total", outcome="failed") == before + 1
    assert _value(samples, "ipaas_webhook_deliveries", state="FAILED") == 1
    assert _value(samples, "ipaas_webhook_deliveries", state="PENDING") == 0


def test_a_cloud_call_leaves_an_info_line_with_its_request_id_and_no_url(caplog):
    caplog.set_level(logging.INFO, logger="portal.cloud_calls")
    bound = request_id_var.set("req-cloud-1")
    try:
        metrics.cloud_call_observe("create_servers", "ok", 0.0123)
        (record,) = [r for r in caplog.records if r.name == "portal.cloud_calls"]
        RequestIdFilter().filter(record)  # what the console handler adds to each line
    finally:
        request_id_var.reset(bound)

    assert record.levelno == logging.INFO
    assert record.request_id == "req-cloud-1"
    assert record.getMessage() == (
        "Cloud call service=compute call=create_servers outcome=ok ms=12.3"
    )
