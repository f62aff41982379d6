"""Keep tokens, client secrets and passwords out of every log line and error report.

The seed's clients put `access_token` in URLs, and request lines are logged by the development
server, gunicorn and Django itself; every handler carries `RedactSecretsFilter`, which masks
secrets in the final message whatever logger produced it.

Lines are readable text locally and JSON in production (`LOG_FORMAT`), each with the id of
the API request it belongs to.
"""

import contextvars
import json
import logging
import re
import time

from django.views.debug import SafeExceptionReporterFilter

REDACTED = "[redacted]"
SECRET_NAMES = ("access_token", "refresh_token", "client_secret", "password", "webhook_secret")

# `name=value` in query strings and form bodies, and `"name": "value"` in JSON.
_PAIR = re.compile(
    r"(?P<key>(?:%s)(?:\"|%%22|')?\s*(?:=|:|%%3[aA])\s*(?:\"|%%22|')?)(?P<value>[^&\s\"',;}]+)"
    % "|".join(SECRET_NAMES),
    re.IGNORECASE,
)
_AUTHORIZATION = re.compile(r"(?P<key>\b(?:Bearer|Basic)\s+)(?P<value>[A-Za-z0-9._~+/=-]+)")


def redact(text: str) -> str:
    """The text with the value of every secret-bearing parameter or header replaced."""
    text = _PAIR.sub(lambda m: m.group("key") + REDACTED, text)
    return _AUTHORIZATION.sub(lambda m: m.group("key") + REDACTED, text)


class RedactSecretsFilter(logging.Filter):
    """A logging filter that renders each record once and masks secrets in the result."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports hide the API's secret parameters and headers, not only settings."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|DATABASE_URL|BROKER_URL",
        flags=re.IGNORECASE,
    )

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if request is None:
            return parameters
        cleansed = parameters.copy()
        for name in SECRET_NAMES:
            if name in cleansed:
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        for key in ("QUERY_STRING", "REQUEST_URI", "RAW_URI"):
            if key in meta:
                meta[key] = redact(str(meta[key]))
        return meta


# --- request ids ----------------------------------------------------------------------------

# The id of the API request whose work is under way in this thread or task: set by the
# request middleware, carried in task message headers, and set again from an operation's
# stored id when a task runs for it, so that one id follows a stack from the API request
# through its Celery tasks and cloud calls.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id (`-` when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, process."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "process": record.process,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)
