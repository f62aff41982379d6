"""Test set-up shared by every app: a database of the run's own, fast hashing, clients."""

import os

import pytest


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    # A test database named after this run, so two runs on one machine never collide.
    from django.conf import settings

    settings.DATABASES["default"].setdefault("TEST", {})
    settings.DATABASES["default"]["TEST"]["NAME"] = f"test_ipaas_{os.getpid()}"


@pytest.fixture(autouse=True)
def _fast_hashing_and_clean_cache(settings):
    # Client secrets are hashed on every token request; PBKDF2's million rounds would
    # dominate the suite. The cache holds throttling counters that must not leak across tests.
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tenant_client(db):
    """An API client of a fresh tenant, with a valid token: `(client, token)`."""
    from accounts.tests.factories import ApiClientFactory, issue_token

    client = ApiClientFactory()
    return client, issue_token(client)
