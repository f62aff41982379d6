"""Prometheus metrics: requests, Celery tasks, cloud calls, webhooks, and stacks by state.

Counters and histograms are kept per process; with `PROMETHEUS_MULTIPROC_DIR` set (gunicorn's
and Celery's worker processes), each process writes them to files there and a scrape adds
them up. Counts of stacks, operations and webhook deliveries by state are read from the
database at scrape time, so every web node answers the same.
"""

import ipaddress
import logging
import os
import secrets
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)
# Every cloud call at DEBUG, with its outcome and time; failures are also WARNING lines of
# compute.gateway.
cloud_logger = logging.getLogger("portal.cloud_calls")

HTTP_REQUESTS = Counter(
    "ipaas_http_requests_total", "HTTP requests answered.", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "ipaas_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TASKS = Counter("ipaas_celery_tasks_total", "Celery tasks run.", ["task", "outcome"])
TASK_DURATION = Histogram(
    "ipaas_celery_task_duration_seconds",
    "Time a Celery task ran.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
CLOUD_CALLS = Counter(
    "ipaas_cloud_calls_total", "Calls to OpenStack APIs.", ["service", "call", "outcome"]
)
CLOUD_LATENCY = Histogram(
    "ipaas_cloud_call_duration_seconds",
    "Time an OpenStack API call took, failures included.",
    ["service", "call"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBHOOK_ATTEMPTS = Counter(
    "ipaas_webhook_attempts_total",
    "Webhook delivery attempts: delivered, retry (will try again) or failed (gave up).",
    ["outcome"],
)

# The OpenStack service behind each gateway call, for the `service` label.
CLOUD_CALL_SERVICES = {
    "project_id": "identity",
    "member_names": "identity",
    "images": "image",
    "flavors": "compute",
    "limits": "compute",
    "stack_servers": "compute",
    "project_servers": "compute",
    "create_servers": "compute",
    "delete_server": "compute",
    "server_port": "network",
    "floating_ips": "network",
    "floating_network": "network",
    "allocate_floating_ip": "network",
    "release_floating_ip": "network",
}


def request_observe(request, status: int, seconds: float) -> None:
    match = getattr(request, "resolver_match", None)
    # The route's name, never the raw path: paths carry stack names and would make a series
    # per stack.
    route = (match.view_name if match else "") or "unmatched"
    HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
    HTTP_LATENCY.labels(route, request.method).observe(seconds)


def cloud_call_observe(call: str, outcome: str, seconds: float) -> None:
    """Observer of the cloud gateway: one call, its outcome (ok, transient, permanent)."""
    service = CLOUD_CALL_SERVICES.get(call, "other")
    CLOUD_CALLS.labels(service, call, outcome).inc()
    CLOUD_LATENCY.labels(service, call).observe(seconds)
    # INFO, so that production's level keeps one line per call with its request id; the line
    # names the call, never its URL, whose query could carry a token.
    cloud_logger.info(
        "Cloud call service=%s call=%s outcome=%s ms=%.1f", service, call, outcome, seconds * 1000
    )


def webhook_attempt_observe(outcome: str) -> None:
    WEBHOOK_ATTEMPTS.labels(outcome).inc()


# --- Celery ---------------------------------------------------------------------------------

_task_started: dict[str, float] = {}


def task_started(task_id: str) -> None:
    _task_started[task_id] = time.monotonic()


def task_finished(task_id: str, task_name: str, state: str | None) -> None:
    started = _task_started.pop(task_id, None)
    TASKS.labels(task_name, (state or "unknown").lower()).inc()
    if started is not None:
        TASK_DURATION.labels(task_name).observe(time.monotonic() - started)


# --- scrape-time counts from the database ---------------------------------------------------


class DatabaseStateCollector:
    """Stacks, unfinished operations and webhook deliveries by state, counted per scrape."""

    def collect(self):
        from django.db.models import Count

        from compute.models import Operation, Stack, WebhookDelivery

        up = GaugeMetricFamily("ipaas_metrics_database_up", "Whether the counts could be read.")
        try:
            stacks = dict.fromkeys(Stack.State.values, 0)
            for row in Stack.objects.values("state").annotate(n=Count("id")).order_by():
                stacks[row["state"]] = row["n"]
            operations = Operation.objects.exclude(state__in=Operation.TERMINAL_STATES)
            open_ops = {
                (row["kind"], row["step"]): row["n"]
                for row in operations.values("kind", "step").annotate(n=Count("id")).order_by()
            }
            deliveries = dict.fromkeys(WebhookDelivery.State.values, 0)
            rows = WebhookDelivery.objects.values("state").annotate(n=Count("id")).order_by()
            for row in rows:
                deliveries[row["state"]] = row["n"]
        except Exception as error:
            logger.warning("Metrics could not read the database: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return

        up.add_metric([], 1)
        yield up
        family = GaugeMetricFamily("ipaas_stacks", "Stacks by state.", labels=["state"])
        for state, count in stacks.items():
            family.add_metric([state], count)
        yield family
        family = GaugeMetricFamily(
            "ipaas_operations_open",
            "Unfinished operations by kind and step.",
            labels=["kind", "step"],
        )
        for (kind, step), count in sorted(open_ops.items()):
            family.add_metric([kind, step], count)
        yield family
        family = GaugeMetricFamily(
            "ipaas_webhook_deliveries", "Webhook deliveries by state.", labels=["state"]
        )
        for state, count in deliveries.items():
            family.add_metric([state], count)
        yield family


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def process_registry():
    """This machine's counters: every process's files in multiprocess mode, else this one's."""
    if not multiprocess_dir():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def multiprocess_dir_reset() -> None:
    """Empty the multiprocess folder when a process group starts: old pids' counts go."""
    folder = multiprocess_dir()
    if not folder:
        return
    path = Path(folder)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)


# --- the endpoint ---------------------------------------------------------------------------


def _allowed(request) -> bool:
    """Each configured guard must pass: the bearer token, and the client's network."""
    token = settings.METRICS_TOKEN
    networks = settings.METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        return False
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip(), token):
            return False
    if networks:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        if not any(address in ipaddress.ip_network(net, strict=False) for net in networks):
            return False
    return True


def metrics_view(request):
    """`GET /metrics`: Prometheus text, for a scraper that holds the token or sits nearby."""
    if not _allowed(request):
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseStateCollector())
    body = generate_latest(process_registry()) + generate_latest(database)
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
