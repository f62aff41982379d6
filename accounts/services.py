"""Business actions on tenants, memberships and API clients."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model

from accounts.models import ApiClient, Membership, Tenant

logger = logging.getLogger(__name__)


class ScopeError(ValueError):
    """A scope that the API does not know."""


def _checked_scopes(scopes: list[str] | None) -> str:
    known = settings.API_SCOPES
    chosen = scopes or list(known)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ScopeError(f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(known)}.")
    return " ".join(scope for scope in known if scope in chosen)


@transaction.atomic
def tenant_create(
    *, name: str, display_name: str = "", owner_username: str | None = None
) -> Tenant:
    """Create a tenant (or return the existing one of that name), with an optional owner."""
    tenant, created = Tenant.objects.get_or_create(
        name=name, defaults={"display_name": display_name}
    )
    if created:
        logger.info("Tenant created tenant=%s", tenant.name)
    if owner_username:
        user, new_user = get_user_model().objects.get_or_create(username=owner_username)
        if new_user:
            # The person sets a password through the operator or a reset; none works until then.
            user.set_unusable_password()
            user.save(update_fields=["password"])
        membership_set(tenant=tenant, user=user, role=Membership.Role.OWNER)
    return tenant


@transaction.atomic
def membership_set(*, tenant: Tenant, user, role: str) -> Membership:
    """Give a person a role in a tenant, adding them if they are not in it yet."""
    membership, _ = Membership.objects.update_or_create(
        tenant=tenant, user=user, defaults={"role": role}
    )
    logger.info("Membership set tenant=%s user=%s role=%s", tenant.name, user.pk, role)
    return membership


@transaction.atomic
def api_client_create(
    *, tenant: Tenant, name: str, scopes: list[str] | None = None
) -> tuple[ApiClient, str]:
    """Create an API client for a tenant; returns it with its secret, which is shown once.

    Only a hash of the secret is stored, so the returned value is the one chance to read it.
    """
    secret = generate_client_secret()
    client = ApiClient(
        tenant=tenant, name=name, scope=_checked_scopes(scopes), client_secret=secret
    )
    client.save()
    logger.info("API client created tenant=%s client=%s", tenant.name, client.client_id)
    return client, secret


@transaction.atomic
def api_client_rotate_secret(*, client: ApiClient) -> str:
    """Give a client a new secret and revoke its tokens; returns the new secret once."""
    secret = generate_client_secret()
    client.client_secret = secret
    client.save(update_fields=["client_secret", "updated"])
    api_client_revoke_tokens(client=client)
    logger.info(
        "API client secret rotated tenant=%s client=%s", client.tenant_id, client.client_id
    )
    return secret


@transaction.atomic
def api_client_revoke_tokens(*, client: ApiClient) -> int:
    """Revoke every token a client holds; returns how many there were."""
    count, _ = get_access_token_model().objects.filter(application=client).delete()
    logger.info("API client tokens revoked client=%s count=%s", client.client_id, count)
    return count


@transaction.atomic
def api_client_disable(*, client: ApiClient) -> None:
    """Stop a client: it can get no new token and its tokens stop working."""
    client.is_active = False
    client.save(update_fields=["is_active", "updated"])
    api_client_revoke_tokens(client=client)
