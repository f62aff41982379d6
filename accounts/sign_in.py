"""Signing in to the pages, with failed attempts counted per username and address.

After `LOGIN_FAILURE_LIMIT` failures for one username from one address within the window,
that pair gets 429 and a form error until the window ends, even with the right password:
guessing a password slows to a few tries per window. The counter is an atomic cache
increment, as for token requests (`accounts.throttling`).
"""

import hashlib
import logging
import time

from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from accounts.addresses import client_address

logger = logging.getLogger(__name__)

LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW_SECONDS = 300


def _bucket(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}\n{address}".encode()).hexdigest()[:32]
    window = LOGIN_FAILURE_WINDOW_SECONDS
    return f"login-failures:{digest}:{int(time.time()) // window * window}"


def login_retry_after(username: str, address: str) -> int | None:
    """Seconds until this username may try again from this address, else None."""
    if (cache.get(_bucket(username, address)) or 0) < LOGIN_FAILURE_LIMIT:
        return None
    window = LOGIN_FAILURE_WINDOW_SECONDS
    return window - int(time.time()) % window or 1


def login_failure_record(username: str, address: str) -> None:
    bucket = _bucket(username, address)
    cache.add(bucket, 0, timeout=LOGIN_FAILURE_WINDOW_SECONDS + 5)
    try:
        cache.incr(bucket)
    except ValueError:
        # The bucket expired between add and incr; this failure starts the next one.
        cache.add(bucket, 1, timeout=LOGIN_FAILURE_WINDOW_SECONDS + 5)


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class SignInView(auth_views.LoginView):
    """The sign-in page; too many failures answer 429 with the form and a wait."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        address = client_address(request)
        wait = login_retry_after(username, address)
        if wait:
            # An unbound form: checking the password now would answer whether it was right.
            form = self.get_form_class()(request, initial={"username": username})
            logger.warning("Sign-in throttled address=%s", address)
            response = self.render_to_response(
                self.get_context_data(form=form, throttled_minutes=max(1, round(wait / 60)))
            )
            response.status_code = 429
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        address = client_address(self.request)
        login_failure_record(form.data.get("username", ""), address)
        logger.info("Sign-in failed address=%s", address)
        return super().form_invalid(form)
