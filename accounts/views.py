"""The seed's token endpoint and the people's account pages: overview, tenant and time zone,
API clients, members."""

import base64
import binascii
import json
import logging
import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from oauth2_provider.views import TokenView

from accounts import services, throttling
from accounts.access import (
    SESSION_TENANT,
    person_memberships,
    person_timezone_set,
    session_timezone,
    tenant_page,
)
from accounts.addresses import client_address
from accounts.forms import ApiClientCreateForm, MemberInviteForm, MemberRoleForm, TimezoneForm
from accounts.models import ApiClient, Membership
from billing.services import PriceError, month_usage
from compute import summaries
from compute.selectors import project_list
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

    def http_method_not_allowed(self, request, *args, **kwargs):
        response = envelope_json(
            status_code=405, message=f'Method "{request.method}" not allowed.'
        )
        response["Allow"] = "POST, OPTIONS"
        return response

    def post(self, request, *args, **kwargs):
        basic_client_id = _basic_client_id(request)
        client_id = (
            basic_client_id if basic_client_id is not None else request.POST.get("client_id", "")
        )
        address = client_address(request)

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


@tenant_page()
def home(request):
    """The tenant's overview: its projects, their stacks and servers by state, and what they
    have cost so far this month."""
    now = timezone.now()
    month = now.date().replace(day=1)
    rows = []
    for summary in summaries.project_summaries(projects=list(project_list(tenant=request.tenant))):
        try:
            cost = month_usage(project=summary.project, month=month, now=now)
        except PriceError:
            cost = None  # prices in another currency: billing says why
        rows.append({"summary": summary, "usage": cost})
    return render(
        request, "accounts/tenant_overview.html", {"rows": rows, "month": month, "now": now}
    )


def _next_or_home(request):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("home")


@login_required
@require_POST
def tenant_switch(request):
    """Look at another of the person's tenants from now on in this session."""
    chosen = request.POST.get("tenant_id", "")
    membership = next((m for m in person_memberships(request) if str(m.tenant_id) == chosen), None)
    if membership is None:
        return render(request, "404.html", status=404)
    request.session[SESSION_TENANT] = membership.tenant_id
    messages.info(request, f"You are now looking at {membership.tenant}.")
    # Pages of the previous tenant's objects would answer 404: start from the overview.
    return redirect("home")


@login_required
def account_settings(request):
    """The person's own settings: the time zone pages show times in, and a password link."""
    form = TimezoneForm(request.POST or None, initial={"timezone": str(session_timezone(request))})
    if request.method == "POST" and form.is_valid():
        person_timezone_set(request, form.cleaned_data["timezone"])
        messages.success(request, f"Times are now shown in {form.cleaned_data['timezone']}.")
        return _next_or_home(request)
    return render(request, "accounts/account_settings.html", {"form": form})


# --- API clients ----------------------------------------------------------------------------


def _base_url(request) -> str:
    """The portal's own address as the person reached it, for copyable command lines."""
    return request.build_absolute_uri("/").rstrip("/")


def _tenant_client(request, client_id: int) -> ApiClient:
    return get_object_or_404(ApiClient, pk=client_id, tenant=request.tenant)


def _secret_page(request, client: ApiClient, secret: str, verb: str):
    response = render(
        request,
        "accounts/apiclient_secret.html",
        {"client": client, "secret": secret, "verb": verb, "base_url": _base_url(request)},
    )
    # The secret is on this one answer only: no cache, no history copy, no referrer.
    for header, value in NO_LEAK_HEADERS.items():
        response[header] = value
    return response


@tenant_page()
def apiclient_list(request):
    """The tenant's API clients; owners create, rotate and revoke them here."""
    clients = ApiClient.objects.filter(tenant=request.tenant).order_by("-is_active", "name")
    form = ApiClientCreateForm(initial={"scopes": ["compute:read"]})
    return render(
        request,
        "accounts/apiclient_list.html",
        {"clients": clients, "form": form, "base_url": _base_url(request)},
    )


@tenant_page(Membership.Role.OWNER)
@require_POST
def apiclient_create(request):
    form = ApiClientCreateForm(request.POST)
    if not form.is_valid():
        clients = ApiClient.objects.filter(tenant=request.tenant).order_by("-is_active", "name")
        context = {"clients": clients, "form": form, "base_url": _base_url(request)}
        return render(request, "accounts/apiclient_list.html", context, status=400)
    client, secret = services.api_client_create(
        tenant=request.tenant, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"]
    )
    return _secret_page(request, client, secret, "created")


@tenant_page(Membership.Role.OWNER)
@require_POST
def apiclient_rotate(request, client_id: int):
    client = _tenant_client(request, client_id)
    if not client.is_active:
        messages.error(request, "A revoked client cannot get a new secret.")
        return redirect("apiclient-list")
    return _secret_page(
        request, client, services.api_client_rotate_secret(client=client), "rotated"
    )


@tenant_page(Membership.Role.OWNER)
@require_POST
def apiclient_revoke(request, client_id: int):
    client = _tenant_client(request, client_id)
    services.api_client_disable(client=client)
    messages.success(request, f"{client.name} is revoked: its tokens stopped working.")
    return redirect("apiclient-list")


# --- members --------------------------------------------------------------------------------


def _member_list_page(request, form: MemberInviteForm, status: int = 200):
    members = Membership.objects.filter(tenant=request.tenant).select_related("user")
    return render(
        request,
        "accounts/membership_list.html",
        {"members": members.order_by("user__username"), "form": form,
         "roles": Membership.Role.choices},
        status=status,
    )  # fmt: skip


@tenant_page()
def member_list(request):
    """The people of the tenant and their roles; owners invite, change roles and remove."""
    return _member_list_page(request, MemberInviteForm())


@tenant_page(Membership.Role.OWNER)
@require_POST
def member_invite(request):
    form = MemberInviteForm(request.POST)
    if form.is_valid():
        try:
            membership, made = services.membership_invite(
                tenant=request.tenant, identifier=form.cleaned_data["identifier"],
                role=form.cleaned_data["role"],
            )  # fmt: skip
        except services.MembershipError as error:
            form.add_error("identifier", str(error))
    if not form.is_valid():
        return _member_list_page(request, form, status=400)
    name = membership.user.get_username()
    if made:
        messages.warning(
            request,
            f"{name} had no login: one was made without a password. They cannot sign in "
            "until an operator sets their password.",
        )
    else:
        messages.success(request, f"{name} is {membership.get_role_display().lower()}.")
    return redirect("membership-list")


@tenant_page(Membership.Role.OWNER)
@require_POST
def member_role(request, membership_id: int):
    membership = get_object_or_404(Membership, pk=membership_id, tenant=request.tenant)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_role_set(membership=membership, role=form.cleaned_data["role"])
            messages.success(request, f"{membership.user.get_username()}'s role is changed.")
        except services.MembershipError as error:
            messages.error(request, str(error))
    return redirect("membership-list")


@tenant_page(Membership.Role.OWNER)
@require_POST
def member_remove(request, membership_id: int):
    membership = get_object_or_404(Membership, pk=membership_id, tenant=request.tenant)
    try:
        services.membership_remove(membership=membership)
        messages.success(request, f"{membership.user.get_username()} is removed.")
    except services.MembershipError as error:
        messages.error(request, str(error))
    if membership.user_id == request.user.pk:
        return redirect(reverse("home"))
    return redirect("membership-list")
