"""Project-wide views: error pages that answer API paths in the envelope."""

from django.views import defaults

from portal.api import envelope_json
from portal.middleware import API_PREFIXES


def _wants_json(request) -> bool:
    return request.path.startswith(API_PREFIXES) or "application/json" in request.headers.get(
        "Accept", ""
    )


def bad_request(request, exception=None):
    if _wants_json(request):
        return envelope_json(status_code=400, message="Bad request.")
    return defaults.bad_request(request, exception)


def not_found(request, exception=None):
    if _wants_json(request):
        return envelope_json(status_code=404, message="Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _wants_json(request):
        return envelope_json(status_code=500, message="Internal error; it has been logged.")
    return defaults.server_error(request)
