"""gunicorn's settings in production: `gunicorn --config python:portal.gunicorn_conf portal.wsgi`.

Everything can still be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import os

from prometheus_client import multiprocess

from portal import metrics

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
# Requests mostly wait on PostgreSQL: two processes per core, a few threads each.
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1))))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
# Keep-alive behind a load balancer that reuses connections.
keepalive = 5
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# No access log of gunicorn's own: its request line carries the query string, tokens and
# all. The portal's middleware logs every request (path, status, time, request id, client).
# `accesslog = None` alone is not enough: gunicorn writes access lines whenever a logging
# config is given, so its access logger below has no handler and lets nothing through.
accesslog = None
_format = os.environ.get("LOG_FORMAT", "json")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "portal.logs.RedactSecretsFilter"},
        "request_id": {"()": "portal.logs.RequestIdFilter"},
    },
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "portal.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": _format if _format in ("line", "json") else "json",
            "filters": ["redact_secrets", "request_id"],
        }
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}


def on_starting(server):
    # Counters of a previous run's processes would otherwise be added to this run's.
    metrics.multiprocess_dir_reset()


def child_exit(server, worker):
    if metrics.multiprocess_dir():
        multiprocess.mark_process_dead(worker.pid)
