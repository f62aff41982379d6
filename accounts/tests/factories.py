"""Factories for tenants, people and API clients, with tokens issued as the API issues them."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model

from accounts.models import ApiClient, Membership, Tenant


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tenant-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.test")
    password = factory.django.Password("correct horse battery")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER


class ApiClientFactory(factory.django.DjangoModelFactory):
    """A client whose plaintext secret stays readable on `.plain_secret` for the test."""

    class Meta:
        model = ApiClient

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"client-{n}")
    client_secret = factory.LazyFunction(generate_client_secret)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        secret = kwargs["client_secret"]
        client = super()._create(model_class, *args, **kwargs)
        client.plain_secret = secret
        return client


def issue_token(client: ApiClient, *, scope: str | None = None, expires_in: int = 3600) -> str:
    """Store a token for a client the way the token endpoint does; returns the plaintext."""
    from oauth2_provider.models import set_token_value

    token = get_access_token_model()(
        application=client,
        scope=scope if scope is not None else client.scope,
        expires=timezone.now() + timedelta(seconds=expires_in),
    )
    raw = generate_client_secret()
    set_token_value(token, raw)
    token.save()
    return raw
