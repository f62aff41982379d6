"""Test set-up shared by every app: a database of the run's own, fast hashing, clients."""

import os

import pytest


def pytest_configure(config):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise pytest.UsageError(
            "The tests need PostgreSQL, RabbitMQ and Redis: run them with `make test`, or set "
            "DATABASE_URL, CELERY_BROKER_URL and CACHE_URL as the Makefile does."
        )


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


pytest_plugins = ["cloudsim.pytest_plugin"]

# Cloud timings for tests: cloudsim boots in 0.2 s, so poll often and give up soon.
FAST_CLOUD_SETTINGS = {
    "CLOUD_POLL_SECONDS": 0.1,
    "STACK_BUILD_TIMEOUT_SECONDS": 30,
    "STACK_DELETE_TIMEOUT_SECONDS": 30,
    "OPERATION_BACKOFF_MAX_SECONDS": 0.5,
    "OPERATION_MAX_ATTEMPTS": 6,
    "CATALOG_MAX_AGE_SECONDS": 3600,
}


@pytest.fixture(scope="session")
def celery_queue():
    """Queues of this run's own, so two test runs on one machine never share messages."""
    from django.conf import settings

    from portal.celery import app, queues_for, routes_for

    prefix = f"ipaas-test-{os.getpid()}"
    settings.CELERY_QUEUE_PREFIX = prefix
    # The queues expire on the broker once no run uses them: old runs leave nothing behind.
    app.conf.task_queues = queues_for(prefix, expires_ms=120_000)
    app.conf.task_routes = routes_for(prefix)
    app.conf.task_default_queue = prefix
    return prefix


@pytest.fixture(scope="session")
def celery_worker_thread(celery_queue, django_db_setup, django_db_blocker):
    """A real Celery worker on RabbitMQ in a thread of the test process, for the session."""
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    with (
        django_db_blocker.unblock(),
        start_worker(
            app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30
        ) as worker,
    ):
        yield worker


@pytest.fixture
def fast_cloud(settings):
    for name, value in FAST_CLOUD_SETTINGS.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def portal_cloud(cloudsim, fast_cloud):
    """The portal's view of cloudsim: a Cloud row for its `cloudsim` clouds.yaml entry."""
    from compute.gateway import forget_connections
    from compute.models import Cloud

    forget_connections()
    return Cloud.objects.create(name="cloudsim", region="RegionOne")


@pytest.fixture
def worker(celery_worker_thread, transactional_db):
    """A running worker; the test's rows are committed so that the worker sees them."""
    return celery_worker_thread


@pytest.fixture
def devel(portal_cloud):
    """Tenant `acme` owning the cloudsim project `devel`, where user `demo` is a member."""
    from compute.tests.conftest import make_tenant

    return make_tenant(portal_cloud, name="acme", project_name="devel")


@pytest.fixture
def staging(portal_cloud):
    """Tenant `globex` owning the cloudsim project `staging` (user `alice`)."""
    from compute.tests.conftest import make_tenant

    return make_tenant(portal_cloud, name="globex", project_name="staging")
