"""Request logging and the headers that keep token-bearing URLs from leaking."""

import logging
import time
import uuid

logger = logging.getLogger("portal.requests")

API_PREFIXES = ("/openstack/", "/oauth/")


class RequestLogMiddleware:
    """Logs one line per request with its path (never its query string) and an id.

    The request id comes from `X-Request-ID` when a proxy set one, is echoed in the answer,
    and is what ties an API call to the jobs it starts.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        started = time.monotonic()
        response = self.get_response(request)
        elapsed_ms = (time.monotonic() - started) * 1000

        response["X-Request-ID"] = request.request_id
        if request.path.startswith(API_PREFIXES):
            response.setdefault("Referrer-Policy", "no-referrer")
            response.setdefault("Cache-Control", "no-store")

        client = getattr(getattr(request, "auth", None), "application", None)
        logger.info(
            "%s %s %s %.1fms request=%s client=%s",
            request.method,
            request.path,
            response.status_code,
            elapsed_ms,
            request.request_id,
            getattr(client, "client_id", "-"),
        )
        return response
