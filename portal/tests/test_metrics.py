"""`/metrics`: guarded by a token or a network, and what an operator reads there."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from compute import tasks
from compute.tests.conftest import create_body, image_id

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
    return samples.get((name, frozenset(labels.items())), 0.0)


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
