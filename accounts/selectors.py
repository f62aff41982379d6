"""Read-only queries about who is calling."""

from accounts.models import Tenant


def tenant_of_request(request) -> Tenant:
    """The tenant an authenticated API request acts for: its client's tenant, never a parameter."""
    return request.auth.application.tenant


def person_tenant(request) -> Tenant | None:
    """The tenant a signed-in person is looking at: the one chosen this session, else their
    first; None for a person in no tenant."""
    memberships = request.user.memberships.select_related("tenant").order_by("tenant__name")
    chosen = request.session.get("tenant_id")
    membership = memberships.filter(tenant_id=chosen).first() if chosen else None
    membership = membership or memberships.first()
    return membership.tenant if membership else None
