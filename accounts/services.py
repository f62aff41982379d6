"""Business actions on tenants, memberships and API clients."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
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


class MembershipError(ValueError):
    """A change of members that would leave a tenant in a bad way, e.g. with no owner."""


def _other_owners(membership: Membership) -> bool:
    # The tenant's owner rows are locked, so two owners removing each other at once cannot
    # both succeed.
    owners = (
        Membership.objects.select_for_update()
        .filter(tenant_id=membership.tenant_id, role=Membership.Role.OWNER)
        .values_list("pk", flat=True)
    )
    return any(pk != membership.pk for pk in owners)


def _new_login_check(identifier: str, user_model) -> None:
    """A login is made only for an email address that is also a valid username."""
    if "@" not in identifier:
        raise MembershipError(
            "No person with that username. Add someone without a login by their email address."
        )
    try:
        validate_email(identifier)
        user_model.username_validator(identifier)
    except ValidationError as error:
        raise MembershipError(
            f"{identifier} is not an email address a login can be made for: "
            + " ".join(error.messages)
        ) from error


@transaction.atomic
def membership_invite(*, tenant: Tenant, identifier: str, role: str) -> tuple[Membership, bool]:
    """Add a person to a tenant by username or email; returns the membership and whether a
    login had to be made for them.

    A person with no login, named by a valid email address, gets one named after it, without
    a usable password: they cannot sign in until an operator sets one. An unknown username
    makes nothing and raises MembershipError.
    """
    identifier = identifier.strip()
    user_model = get_user_model()
    users = user_model.objects
    user = (
        users.filter(username__iexact=identifier).first()
        or users.filter(email__iexact=identifier).order_by("pk").first()
    )
    made = user is None
    # Limitation: no invitation mail goes out and the portal has no password reset, so an
    # operator must set a password (admin) before a newly made login can sign in.
    if made:
        _new_login_check(identifier, user_model)
        user = users.create(username=identifier, email=identifier)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        logger.info("User made for an invitation tenant=%s user=%s", tenant.name, user.pk)
    existing = Membership.objects.filter(tenant=tenant, user=user).first()
    if existing is not None:
        # An invitation never changes a role: that is membership_role_set's job.
        return existing, False
    return membership_set(tenant=tenant, user=user, role=role), made


@transaction.atomic
def membership_role_set(*, membership: Membership, role: str) -> Membership:
    """Change a person's role in their tenant; the last owner cannot step down."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == role:
        return membership
    if membership.role == Membership.Role.OWNER and not _other_owners(membership):
        raise MembershipError("A tenant needs an owner: make someone else owner first.")
    return membership_set(tenant=membership.tenant, user=membership.user, role=role)


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Take a person out of a tenant; the last owner cannot be removed."""
    membership = Membership.objects.select_for_update().filter(pk=membership.pk).first()
    if membership is None:
        return
    if membership.role == Membership.Role.OWNER and not _other_owners(membership):
        raise MembershipError("A tenant needs an owner: make someone else owner first.")
    membership.delete()
    logger.info("Membership removed tenant=%s user=%s", membership.tenant_id, membership.user_id)
