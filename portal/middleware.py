"""Request logging and the headers that keep token-bearing URLs from leaking."""

import logging
import time
import uuid

from portal import metrics
from portal.logs import request_id_var

logger = logging.getLogger("portal.requests")

API_PREFIXES = ("/openstack/", "/oauth/")


class RequestLogMiddleware:
    """Logs one line per request with its path (never its query string) and an id.

    The request id comes from `X-Request-ID` when a proxy set one, is echoed in the answer,
    and is what ties an API call to the jobs it starts: it is the current request id of the
    thread while the view runs, so every log line and task message sent meanwhile carries it.
    Each request is also timed for `/metrics`, labelled by its route's name.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        bound = request_id_var.set(request.request_id)
        try:
            started = time.monotonic()
            response = self.get_response(request)
            elapsed = time.monotonic() - started
            self._finish(request, response, elapsed)
        finally:
            request_id_var.reset(bound)
        return response

    def _finish(self, request, response, elapsed: float) -> None:
        metrics.request_observe(request, response.status_code, elapsed)

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
            elapsed * 1000,
            request.request_id,
            getattr(client, "client_id", "-"),
        )
