"""Liveness and readiness: dependencies up, and each one down, reported and never a 500."""

import json

import pytest
from django.core.cache.backends.redis import RedisCache
from django.db import connection

from compute.models import Cloud
from portal import health

pytestmark = pytest.mark.django_db

CLOSED_PORT = 1  # nothing listens on port 1 of the loopback address


def test_healthz_answers_without_authentication(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency_with_its_latency_when_all_are_up(client, portal_cloud):
    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "cache", "keystone:cloudsim"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert check["latency_ms"] >= 0


def test_readyz_with_the_broker_down_is_a_503_naming_it_and_no_secret(client, settings):
    settings.CELERY_BROKER_URL = f"amqp://portal:hunter2@127.0.0.1:{CLOSED_PORT}//"

    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert "refused" in body["checks"]["broker"]["error"].lower()
    assert body["checks"]["database"]["ok"] is True
    assert "hunter2" not in response.content.decode()


def test_readyz_with_the_cache_down_is_a_503_naming_it(client, monkeypatch):
    down = RedisCache(f"redis://127.0.0.1:{CLOSED_PORT}/0", {})
    monkeypatch.setattr(health, "cache", down)

    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"]["ok"] is False
    assert checks["broker"]["ok"] is True


def test_readyz_with_a_cloud_unreachable_or_unknown_is_a_503_naming_each(
    client, tmp_path, monkeypatch
):
    clouds = {"clouds": {"down": {"auth": {"auth_url": f"http://127.0.0.1:{CLOSED_PORT}/v3"}}}}
    path = tmp_path / "clouds.yaml"
    path.write_text(json.dumps(clouds))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    Cloud.objects.create(name="down")
    Cloud.objects.create(name="missing")
    Cloud.objects.create(name="retired", is_active=False)

    response = client.get("/readyz")

    checks = response.json()["checks"]
    assert response.status_code == 503
    assert checks["keystone:down"]["ok"] is False
    assert "127.0.0.1" not in checks["keystone:down"]["error"]
    assert checks["keystone:missing"] == {"ok": False, "error": "not found in clouds.yaml"}
    assert "keystone:retired" not in checks


def test_readyz_with_the_database_down_is_a_503_not_a_500(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise connection.Database.OperationalError("connection to server failed: refused")

    monkeypatch.setattr(connection, "cursor", refuse)

    response = client.get("/readyz")

    checks = response.json()["checks"]
    assert response.status_code == 503
    assert checks["database"]["ok"] is False
    assert "OperationalError" in checks["database"]["error"]
    assert checks["broker"]["ok"] is True


@pytest.mark.parametrize(
    "message",
    [
        "Error -2 connecting to redis.internal.example:6379. Name or service not known.",
        'could not translate host name "db.internal.example" to address: Name unknown',
        'could not translate host name "db" to address: Name or service not known',
        "Error 111 connecting to cachehost:6379. Connection refused.",
        "HTTPSConnectionPool(host='keystone.internal.example', port=5000): Max retries",
    ],
)
def test_a_dependency_error_names_no_host(message):
    problem = health._problem(OSError(message))

    assert problem.startswith("OSError: ")
    for host in ("internal.example", '"db"', "cachehost"):
        assert host not in problem, problem


def test_readyz_with_an_unresolvable_broker_host_does_not_name_it(client, settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@broker.internal.invalid:5672//"

    response = client.get("/readyz?check=broker")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert "internal.invalid" not in response.content.decode()


def test_readyz_narrowed_to_the_database_is_ready_while_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{CLOSED_PORT}//"

    narrowed = client.get("/readyz?check=database")
    everything = client.get("/readyz")

    assert narrowed.status_code == 200
    assert set(narrowed.json()["checks"]) == {"database"}
    assert everything.status_code == 503


def test_readyz_with_an_unknown_check_is_a_400_listing_the_known_ones(client):
    response = client.get("/readyz?check=databse")

    assert response.status_code == 400
    assert "databse" in response.json()["error"]
    assert "database" in response.json()["error"]


@pytest.mark.parametrize(
    ("entry", "trusted"),
    [
        ({}, True),
        ({"verify": False}, False),
        ({"cacert": "/etc/ssl/private-ca.pem"}, "/etc/ssl/private-ca.pem"),
        ({"verify": True, "cacert": "/etc/ssl/private-ca.pem"}, "/etc/ssl/private-ca.pem"),
    ],
)
def test_readyz_trusts_keystone_as_clouds_yaml_says(client, tmp_path, monkeypatch, entry, trusted):
    clouds = {"clouds": {"private": {"auth": {"auth_url": "https://keystone.test/v3"}, **entry}}}
    path = tmp_path / "clouds.yaml"
    path.write_text(json.dumps(clouds))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    Cloud.objects.create(name="private")
    calls = []

    def answer(url, **kwargs):
        calls.append(kwargs["verify"])
        return type("Answer", (), {"status_code": 300})()

    monkeypatch.setattr(health.requests, "get", answer)

    response = client.get("/readyz?check=clouds")

    assert response.json()["checks"]["keystone:private"]["ok"] is True
    assert calls == [trusted]
