"""Read-only queries about who is calling."""

from accounts.models import Tenant


def tenant_of_request(request) -> Tenant:
    """The tenant an authenticated API request acts for: its client's tenant, never a parameter."""
    return request.auth.application.tenant
