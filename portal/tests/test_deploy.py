"""The production profile passes Django's deployment checks without a warning."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_the_production_profile_passes_check_deploy_without_a_warning():
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "portal.example.com",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1/ipaas"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


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
