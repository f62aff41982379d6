"""The seed's token endpoint and the portal's sign-in pages."""

import base64
import binascii
import json
import logging
import time

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.views import TokenView

from accounts import throttling
from portal.api import NO_LEAK_HEADERS, envelope_json

logger = logging.getLogger(__name__)

REQUIRED_FIELDS = ("grant_type", "client_id", "client_secret")


def _basic_client_id(request) -> str | None:
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0]


def _oauth_error(status_code: int, error: str, description: str, **headers):
    """An OAuth2 error that also wears the seed's envelope, for clients of either kind."""
    response = envelope_json({"error": error}, status_code=status_code, message=description)
    payload = json.loads(response.content)
    payload.update(error=error, error_description=description)
    response.content = json.dumps(payload)
    for header, value in headers.items():
        response[header] = value
    return response


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters("client_secret"), name="dispatch")
class AccessTokenView(TokenView):
    """`POST /oauth/token`: client credentials in, the seed's token answer out.

    The answer is `{"access_token", "token_type": "bearer", "expires_in", "created_at",
    "scope"}`. Client authentication by form fields or HTTP Basic, as RFC 6749 allows.
    """

    def post(self, request, *args, **kwargs):
        basic_client_id = _basic_client_id(request)
        client_id = (
            basic_client_id if basic_client_id is not None else request.POST.get("client_id", "")
        )
        address = request.META.get("REMOTE_ADDR", "")

        wait = throttling.retry_after(client_id, address)
        if wait:
            return _oauth_error(
                429, "slow_down", "Too many failed token requests.", **{"Retry-After": str(wait)}
            )

        needed = REQUIRED_FIELDS if basic_client_id is None else ("grant_type",)
        missing = [field for field in needed if not request.POST.get(field)]
        if missing:
            return _oauth_error(400, "invalid_request", f"Missing field(s): {', '.join(missing)}.")

        response = super().post(request, *args, **kwargs)
        if response.status_code != 200:
            throttling.record_failure(client_id, address)
            body = json.loads(response.content or b"{}")
            error = body.get("error", "invalid_request")
            logger.info("Token refused client=%s error=%s", client_id or "-", error)
            return _oauth_error(
                response.status_code, error, body.get("error_description") or error
            )

        body = json.loads(response.content)
        answer = {
            "access_token": body["access_token"],
            "token_type": "bearer",
            "expires_in": body["expires_in"],
            "created_at": int(time.time()),
            "scope": body.get("scope", ""),
        }
        response.content = json.dumps(answer)
        response["Content-Type"] = "application/json"
        for header, value in NO_LEAK_HEADERS.items():
            response[header] = value
        logger.info("Token issued client=%s scope=%s", client_id, answer["scope"])
        return response


@login_required
def home(request):
    memberships = request.user.memberships.select_related("tenant")
    return render(request, "accounts/home.html", {"memberships": memberships})
