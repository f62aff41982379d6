"""Template helpers of the portal's layout: who is looking, in which tenant and time zone."""

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from accounts.access import may, person_membership, person_memberships, session_timezone
from accounts.models import Membership

register = template.Library()

STATE_COLOURS = {
    "ACTIVE": "success",
    "SUCCEEDED": "success",
    "DELIVERED": "success",
    "CREATING": "info",
    "BUILD": "info",
    "PENDING": "secondary",
    "RUNNING": "info",
    "DELETING": "warning",
    "SHUTOFF": "secondary",
    "PAUSED": "secondary",
    "SUSPENDED": "secondary",
    "DELETED": "dark",
    "CANCELLED": "dark",
    "FAILED": "danger",
    "ERROR": "danger",
}


@register.simple_tag(takes_context=True)
def portal_nav(context) -> dict:
    """The signed-in person's tenants, the one they look at, and what their role allows."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {}
    membership = person_membership(request)
    return {
        "membership": membership,
        "memberships": person_memberships(request),
        "can_change": may(membership, Membership.Role.MEMBER),
        "is_owner": may(membership, Membership.Role.OWNER),
    }


@register.simple_tag(takes_context=True)
def person_timezone(context) -> str:
    request = context.get("request")
    return str(session_timezone(request)) if request is not None else "UTC"


@register.filter
def state_colour(state: str) -> str:
    """The Bootstrap colour of a state's badge."""
    return STATE_COLOURS.get(str(state), "secondary")


@register.filter
def get_item(mapping: dict, key):
    """A dict's value by a key from a variable: `names|get_item:stack.flavor_id`."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def words(name: str) -> str:
    """A machine name as words: `create_servers` reads `create servers`."""
    return str(name).replace("_", " ")


def _within_a_minute(moment) -> bool:
    return timezone.now() - moment < timedelta(minutes=1)


@register.filter
def age(moment) -> str:
    """How old something is, as `timesince` says it, but never "0 minutes"."""
    if moment is None:
        return ""
    return "under a minute" if _within_a_minute(moment) else timesince(moment)


@register.filter
def ago(moment) -> str:
    """When something happened, relative to now: "just now" rather than "0 minutes ago"."""
    if moment is None:
        return ""
    return "just now" if _within_a_minute(moment) else f"{timesince(moment)} ago"
