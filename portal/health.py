"""Liveness and readiness: `/healthz` says the process answers, `/readyz` that it can work.

Readiness checks the database, the message broker, the cache and the Keystone of every
active cloud, each with its latency. A dependency that is down makes a 503 with the details,
never a 500, and the answer names no host, user or secret. `?check=database` (repeatable)
narrows the checks to those named, for a probe that must not fail on a dependency every node
shares; the database is always checked, since the clouds to check are read from it.
"""

import logging
import os
import re
import time
from pathlib import Path

import requests
import yaml
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from kombu import Connection

logger = logging.getLogger(__name__)

# Where openstacksdk looks for clouds.yaml when OS_CLIENT_CONFIG_FILE is not set.
CLOUDS_YAML_PLACES = (
    Path("clouds.yaml"),
    Path.home() / ".config" / "openstack" / "clouds.yaml",
    Path("/etc/openstack/clouds.yaml"),
)
# What an error message may carry that a public answer must not: URLs (with credentials),
# host names and addresses. Applied in order: a URL first, then what is left of an address.
_MASKS = (
    re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE),
    re.compile(r"host=['\"][^'\"]*['\"]"),
    re.compile(r"\bhost name ['\"][^'\"]*['\"]", re.IGNORECASE),
    re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"),
    re.compile(r"\bat \"[^\"]*\""),
    # A dotted name ending in a label with a letter (db.internal.example), or any name:port.
    re.compile(r"\b(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*(?::\d+)?\b", re.IGNORECASE),
    re.compile(r"\b[\w-]+:\d{1,5}\b"),
)
CHECKS = ("database", "broker", "cache", "clouds")  # what `?check=` may name


def _problem(error: Exception) -> str:
    """An error's kind and first line, addresses masked: enough to act on, nothing more."""
    text = (str(error).strip().splitlines() or [""])[0][:300]
    for mask in _MASKS:
        text = mask.sub("[address]", text)
    return f"{type(error).__name__}: {text}".rstrip(": ")


def _timed(check) -> dict:
    started = time.monotonic()
    try:
        detail = check() or {}
        result = {"ok": True, **detail}
    except Exception as error:
        result = {"ok": False, "error": _problem(error)}
    result["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker() -> dict:
    timeout = settings.READYZ_TIMEOUT_SECONDS
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=timeout,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    ) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
        return {"transport": conn.transport_cls}


def _cache() -> None:
    key = f"readyz:{os.getpid()}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("the value just written could not be read back")


def _clouds_yaml() -> dict:
    configured = os.environ.get("OS_CLIENT_CONFIG_FILE")
    places = [Path(configured)] if configured else CLOUDS_YAML_PLACES
    for place in places:
        if place.is_file():
            return (yaml.safe_load(place.read_text()) or {}).get("clouds", {})
    return {}


def _tls_verify(entry: dict) -> bool | str:
    """What clouds.yaml says to trust, as the gateway reads it: `verify: false` or a `cacert`."""
    if entry.get("verify") is False:
        return False
    return entry.get("cacert") or True


def _keystone(auth_url: str, verify: bool | str = True):
    def check() -> dict:
        # The version document answers without a token: no credential leaves the portal.
        response = requests.get(auth_url, timeout=settings.READYZ_TIMEOUT_SECONDS, verify=verify)
        if response.status_code >= 500:
            raise RuntimeError(f"Keystone answered {response.status_code}")
        return {"status": response.status_code}

    return check


def _clouds(database_ok: bool) -> dict:
    # Limitation: clouds are read from clouds.yaml only (no secure.yaml, no OS_* variables),
    # which is how the portal's gateway is configured; another source shows as not found.
    if not database_ok:
        return {}
    from compute.models import Cloud

    entries = _clouds_yaml()
    results = {}
    for name in Cloud.objects.filter(is_active=True).values_list("name", flat=True):
        entry = entries.get(name) or {}
        auth_url = entry.get("auth", {}).get("auth_url")
        if not auth_url:
            results[f"keystone:{name}"] = {"ok": False, "error": "not found in clouds.yaml"}
            continue
        results[f"keystone:{name}"] = _timed(_keystone(auth_url, _tls_verify(entry)))
    return results


def healthz(request):
    """The process is up and answering; `/readyz` checks its dependencies."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Every dependency (or those named by `?check=`) with `ok` and `latency_ms`; 200 when all
    are ok, else 503."""
    wanted = request.GET.getlist("check") or CHECKS
    unknown = sorted(set(wanted) - set(CHECKS))
    if unknown:
        body = {"status": "bad request", "error": f"unknown check {', '.join(unknown)}; "
                f"known: {', '.join(CHECKS)}"}  # fmt: skip
        return JsonResponse(body, status=400)

    checks = {"database": _timed(_database)}
    if not checks["database"]["ok"]:
        connection.close()  # a broken connection would fail the next request too
    if "broker" in wanted:
        checks["broker"] = _timed(_broker)
    if "cache" in wanted:
        checks["cache"] = _timed(_cache)
    if "clouds" in wanted:
        checks.update(_timed_clouds(checks["database"]["ok"]))

    ready = all(check["ok"] for check in checks.values())
    if not ready:
        down = sorted(name for name, check in checks.items() if not check["ok"])
        logger.warning("Not ready: %s", ", ".join(down))
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    response = JsonResponse(body, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    # Logged above as a warning: Django would add an ERROR line for every probe's 503.
    response._has_been_logged = True
    return response


def _timed_clouds(database_ok: bool) -> dict:
    try:
        return _clouds(database_ok)
    except Exception as error:
        return {"clouds": {"ok": False, "error": _problem(error), "latency_ms": 0.0}}
