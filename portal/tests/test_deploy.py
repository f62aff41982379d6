"""The production profile passes Django's deployment checks without a warning."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def _production_env(**changes: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "portal.example.com",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1/ipaas"),
        "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
        "CACHE_URL": "rediscache://127.0.0.1:6379/1",
    }
    env.pop("DEBUG", None)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_production_profile_passes_check_deploy_without_a_warning():
    result = _check_deploy(_production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"SECRET_KEY": "local-development-key-not-for-production"}, "SECRET_KEY of its own"),
        ({"SECRET_KEY": "short-but-not-the-default"}, "SECRET_KEY of its own"),
        ({"DEBUG": "true"}, "refuses DEBUG=true"),
        ({"CELERY_BROKER_URL": None}, "needs CELERY_BROKER_URL"),
        ({"CACHE_URL": None}, "needs CACHE_URL"),
        ({"CELERY_BROKER_URL": "filesystem://"}, "local CELERY_BROKER_URL"),
        ({"CACHE_URL": "locmemcache://ipaas"}, "local CACHE_URL"),
        ({"DATABASE_URL": "sqlite:///var/portal.sqlite3"}, "local DATABASE_URL"),
    ],
)
def test_the_production_profile_refuses_to_start_with_a_local_value(changes, refusal):
    result = _check_deploy(_production_env(**changes))

    assert result.returncode != 0
    assert refusal in result.stderr


def test_the_production_profile_refuses_the_values_of_env_example():
    # What a `.env` copied from `.env.example` gives, with only DJANGO_ENV changed.
    example = {}
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            example[name] = value
    env = {**os.environ, **example, "DJANGO_ENV": "production"}

    result = _check_deploy(env)

    assert result.returncode != 0
    assert "DJANGO_ENV=production" in result.stderr


GUNICORN_ACCESS_LINE = """
import datetime, types
from gunicorn.config import Config
from gunicorn.glogging import Logger
from portal import gunicorn_conf

cfg = Config()
cfg.set("accesslog", gunicorn_conf.accesslog)
cfg.set("logconfig_dict", gunicorn_conf.logconfig_dict)
log = Logger(cfg)
environ = {
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/openstack/projects?access_token=TOKEN-IN-URL",
    "PATH_INFO": "/openstack/projects",
    "QUERY_STRING": "access_token=TOKEN-IN-URL",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
}
response = types.SimpleNamespace(status="200 OK", sent=10, headers=[])
request = types.SimpleNamespace(headers=[])
log.access(response, request, environ, datetime.timedelta(milliseconds=5))
log.info("gunicorn is up")
"""


def test_gunicorn_writes_no_access_line_with_its_configuration():
    result = subprocess.run(
        [sys.executable, "-c", GUNICORN_ACCESS_LINE],
        cwd=BASE_DIR,
        env={**os.environ, "LOG_FORMAT": "line"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    # Its own error log still works; the request line never appears.
    assert "gunicorn is up" in result.stderr
    assert "/openstack/projects" not in result.stdout + result.stderr
