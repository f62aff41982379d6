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
from urllib.parse import unquote

from django.http import HttpRequest
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter
from rest_framework.request import Request

REDACTED = "[redacted]"
SECRET_NAMES = ("access_token", "refresh_token", "client_secret", "password", "webhook_secret")


def _spellings(name: str) -> str:
    # Django decodes `access%5Ftoken` to `access_token` before authenticating with it, so the
    # key is matched in every spelling a client may send, percent-encoded or not.
    return re.escape(name).replace("_", "(?:_|%5[fF])")


# `name=value` in query strings and form bodies (also percent-encoded, as in a `next=` URL),
# and `"name": "value"` in JSON, escaped or not.
_QUOTE = r"(?:\\*\"|%22|')?"
_PAIR = re.compile(
    r"(?P<key>(?:%s)%s\s*(?:=|:|%%3[aAdD])\s*%s)(?P<value>[^&\s\"',;}\\]+)"
    % ("|".join(_spellings(name) for name in SECRET_NAMES), _QUOTE, _QUOTE),
    re.IGNORECASE,
)
_AUTHORIZATION = re.compile(
    r"(?P<key>\b(?:Bearer|Basic)(?:\s+|%20|\+))(?P<value>[A-Za-z0-9._~+/=-]+)", re.IGNORECASE
)


def _redact_once(text: str) -> str:
    text = _PAIR.sub(lambda m: m.group("key") + REDACTED, text)
    return _AUTHORIZATION.sub(lambda m: m.group("key") + REDACTED, text)


def redact(text: str) -> str:
    """The text with the value of every secret-bearing parameter or header replaced.

    The raw text is redacted first, keeping it readable; if its percent-decoded form still
    shows a secret (an encoding the patterns do not spell out, even twice encoded), the
    decoded, redacted text is logged instead.
    """
    cleaned = _redact_once(text)
    for _ in range(3):
        decoded = unquote(cleaned)
        if decoded == cleaned:
            break
        redacted = _redact_once(decoded)
        if redacted != decoded:
            cleaned = redacted
        else:
            break
    return cleaned


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
        for name in list(cleansed):
            if _is_secret(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    # Local variables of a traceback's frames named like these hold secrets.
    secret_variables = re.compile("TOKEN|SECRET|PASS|AUTHORIZATION", flags=re.IGNORECASE)

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self.cleansed_substitute if self.secret_variables.search(name) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def cleanse_special_types(self, request, value):
        value = super().cleanse_special_types(request, value)
        # A request's repr is its full path, query string and token included.
        if isinstance(value, HttpRequest | Request):
            return redact(repr(value))
        if isinstance(value, str):
            return redact(value)
        return value

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        for key in ("QUERY_STRING", "REQUEST_URI", "RAW_URI"):
            if key in meta:
                meta[key] = redact(str(meta[key]))
        return meta


class SecretsExceptionReporter(ExceptionReporter):
    """Error reports (the DEBUG page, and any report rendered) without the URL's secrets.

    Django shows the full request URL and every GET parameter; the seed's clients put the
    access token there.
    """

    def _get_raw_insecure_uri(self):
        return redact(super()._get_raw_insecure_uri())

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if self.request is not None:
            data["request_GET_items"] = [
                (name, self.filter.cleansed_substitute if _is_secret(name) else value)
                for name, value in self.request.GET.items()
            ]
        return data


def _is_secret(name: str) -> bool:
    return name.lower() in SECRET_NAMES


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
