"""Who a signed-in person is in the tenant they are looking at, and what their role lets them do.

Pages check roles here, on the server, whatever buttons the templates show or hide: owner >
member > viewer. A person sees only the tenant chosen in their session (or their first), so
another tenant's objects are simply not found.
"""

import functools
import zoneinfo

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import Membership, PersonSettings

# htmx stops polling an element when its fragment answers this status.
HTMX_STOP_POLLING = 286
ROLE_RANK = {Membership.Role.VIEWER: 0, Membership.Role.MEMBER: 1, Membership.Role.OWNER: 2}
SESSION_TENANT = "tenant_id"
SESSION_TIMEZONE = "timezone"


def person_membership(request) -> Membership | None:
    """The person's membership in the tenant chosen this session, else in their first tenant.

    Kept on the request, so that a page and its layout ask the database once.
    """
    if not hasattr(request, "_membership"):
        memberships = list(
            request.user.memberships.select_related("tenant")
            .filter(tenant__is_active=True)
            .order_by("tenant__name")
        )
        chosen = request.session.get(SESSION_TENANT)
        request._memberships = memberships
        request._membership = next(
            (m for m in memberships if m.tenant_id == chosen),
            memberships[0] if memberships else None,
        )
    return request._membership


def person_memberships(request) -> list[Membership]:
    """Every tenant the person may switch to, with their role there."""
    person_membership(request)
    return request._memberships


def may(membership: Membership | None, role: str) -> bool:
    """Whether a membership's role is at least `role`."""
    return membership is not None and ROLE_RANK[membership.role] >= ROLE_RANK[role]


def session_timezone(request):
    """The time zone the person chose, else the portal's (UTC).

    The choice is stored with the person; the session keeps a copy, made at sign-in, so that
    pages do not ask the database for it.
    """
    name = request.session.get(SESSION_TIMEZONE)
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return timezone.get_default_timezone()


def person_timezone_set(request, name: str) -> None:
    """Show times in zone `name` to the person from now on, in this session and later ones."""
    PersonSettings.objects.update_or_create(user=request.user, defaults={"timezone": name})
    request.session[SESSION_TIMEZONE] = name


def person_timezone_restore(sender, request, user, **kwargs) -> None:
    """At sign-in, copy the zone the person chose earlier into their new session."""
    stored = PersonSettings.objects.filter(user=user).values_list("timezone", flat=True).first()
    if stored and request is not None:
        request.session[SESSION_TIMEZONE] = stored


def tenant_page(role: str = Membership.Role.VIEWER):
    """A page of the person's current tenant: signed in, in a tenant, with at least `role`.

    The view gets `request.membership` and `request.tenant`, and runs in the person's time
    zone. A person in no tenant sees a page that says so; one whose role is too low gets 403.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            fragment = request.headers.get("HX-Request") == "true"
            if not request.user.is_authenticated:
                if fragment:
                    return _fragment_sign_in(request)
                return redirect_to_login(request.get_full_path())

            membership = person_membership(request)
            if membership is None:
                return render(request, "accounts/tenant_none.html", status=403)
            if not may(membership, role):
                raise PermissionDenied(f"This needs the {role} role.")
            request.membership, request.tenant = membership, membership.tenant
            timezone.activate(session_timezone(request))
            try:
                return view(request, *args, **kwargs)
            except Http404:
                if not fragment:
                    raise
                # The page polling it is stale (e.g. the tenant was switched in another tab):
                # stop the polling and keep what is shown, rather than ask every 2 s for ever.
                response = HttpResponse(status=HTMX_STOP_POLLING)
                response["HX-Reswap"] = "none"
                return response
            finally:
                timezone.deactivate()

        return wrapper

    return decorator


def _fragment_sign_in(request) -> HttpResponse:
    """For htmx after the session ended: send the whole page to the sign-in, rather than swap
    the sign-in page into a table."""
    page = request.headers.get("HX-Current-URL", "")
    host = request.build_absolute_uri("/")
    next_path = "/" + page[len(host) :] if page.startswith(host) else "/"
    login = redirect_to_login(next_path)
    response = HttpResponse(status=204)
    response["HX-Redirect"] = login["Location"]
    return response
