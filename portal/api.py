"""The seed's answer envelope, for every API answer: success, error, 404, 405 and 429 alike.

Every body is `{"status": <http status>, "message": <text>, "data": <payload>}` and the HTTP
status always equals `status`.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)

# Headers that keep a token-bearing URL out of caches and Referer headers.
NO_LEAK_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class ServiceUnavailable(exceptions.APIException):
    """The cloud behind a project cannot be reached right now; the client may retry."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The cloud is unreachable; try again later."
    default_code = "service_unavailable"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def envelope_body(data: Any = None, *, status_code: int = 200, message: str = "success") -> dict:
    return {"status": status_code, "message": message, "data": {} if data is None else data}


def envelope(data: Any = None, *, status_code: int = 200, message: str = "success") -> Response:
    """A DRF answer in the seed's envelope."""
    body = envelope_body(data, status_code=status_code, message=message)
    return Response(body, status=status_code, headers=NO_LEAK_HEADERS)


def envelope_json(data: Any = None, *, status_code: int = 200, message: str = "success"):
    """The same envelope from plain Django views (token endpoint, 404 and 500 handlers)."""
    body = envelope_body(data, status_code=status_code, message=message)
    response = JsonResponse(body, status=status_code)
    for header, value in NO_LEAK_HEADERS.items():
        response[header] = value
    return response


def _message_of(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        fields = sorted(exc.detail) if isinstance(exc.detail, dict) else []
        if fields and fields != ["non_field_errors"]:
            return "Invalid input: " + ", ".join(f for f in fields if f != "non_field_errors")
        return "Invalid input."
    detail = exc.detail
    if isinstance(detail, list | dict):
        return str(exc.default_detail)
    return str(detail)


def _data_of(exc: exceptions.APIException) -> Any:
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return {"errors": _plain(detail)}
    return {}


def _plain(detail: Any) -> Any:
    """ErrorDetail strings as plain strings, keeping the shape."""
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(value) for value in detail]
    return str(detail)


def envelope_exception_handler(exc: Exception, context: dict) -> Response:
    """Turn every exception raised in an API view into an enveloped answer, never a traceback."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(str(exc))
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ParseError(str(exc))
    elif isinstance(exc, SuspiciousOperation):
        # Django's own message may repeat what the client sent; it goes to the log only.
        logger.warning("Suspicious request refused: %s", exc)
        exc = exceptions.ParseError("Bad request.")

    if not isinstance(exc, exceptions.APIException):
        view = context.get("view")
        logger.exception("Unexpected error in %s", type(view).__name__ if view else "an API view")
        return envelope(status_code=500, message="Internal error; it has been logged.")

    response = envelope(_data_of(exc), status_code=exc.status_code, message=_message_of(exc))
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(int(exc.wait) + 1)
    if getattr(exc, "auth_header", None):
        response["WWW-Authenticate"] = exc.auth_header
    return response
