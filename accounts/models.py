"""Tenants, the people in them, and the API clients that act for them."""

import secrets

from django.conf import settings
from django.db import models
from oauth2_provider.models import AbstractApplication


class Tenant(models.Model):
    """A customer organisation: it owns projects, stacks, API clients and bills."""

    name = models.SlugField(max_length=63, unique=True, help_text="Short unique name.")
    display_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name


class Membership(models.Model):
    """A person's place in a tenant, with the role that says what they may do there."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"  # manages members and API clients, and all a member does
        MEMBER = "member", "Member"  # creates and deletes stacks
        VIEWER = "viewer", "Viewer"  # reads only

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="one_membership_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"


class PersonSettings(models.Model):
    """What a person chose for themselves and keeps from one sign-in to the next."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="portal_settings",
    )
    timezone = models.CharField(
        max_length=64, blank=True, help_text="The zone pages show times in; blank for UTC."
    )

    class Meta:
        verbose_name_plural = "person settings"

    def __str__(self) -> str:
        return f"{self.user} settings"


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class ApiClient(AbstractApplication):
    """A tenant's program: an OAuth2 client limited to the client-credentials grant.

    Its secret is stored hashed, its tokens only as checksums; `scope` lists what its tokens
    may do, and a disabled client's tokens stop working at once.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_clients")
    scope = models.CharField(
        max_length=255,
        default="compute:read compute:write billing:read",
        help_text="Space-separated scopes: compute:read, compute:write, billing:read.",
    )
    is_active = models.BooleanField(default=True)
    # Signs the events POSTed to a stack's callback URL; the portal must read it to sign,
    # so it is stored as it is, unlike the client secret.
    webhook_secret = models.CharField(max_length=64, default=new_webhook_secret)

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        ordering = ["tenant__name", "name"]

    def save(self, *args, **kwargs):
        # Whatever an operator picks in admin, a client only ever gets tokens for itself.
        self.client_type = self.CLIENT_CONFIDENTIAL
        self.authorization_grant_type = self.GRANT_CLIENT_CREDENTIALS
        super().save(*args, **kwargs)

    def is_usable(self, request) -> bool:
        return self.is_active and self.tenant.is_active

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    def __str__(self) -> str:
        return f"{self.name or self.client_id} ({self.tenant.name})"
