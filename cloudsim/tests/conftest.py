"""Fixtures of cloudsim's own tests; the root conftest loads `cloudsim.pytest_plugin`.

They run with the whole suite (`make test`), or alone and without Django, from the
repository root (`--confcutdir` keeps out the root conftest, which reads Django's settings):

    .venv/bin/python -m pytest -p no:django --confcutdir=cloudsim \
        -p cloudsim.pytest_plugin cloudsim/tests
"""

import openstack
import pytest


@pytest.fixture(autouse=True)
def _fast_hashing_and_clean_cache():
    """Replaces the root conftest's Django set-up: cloudsim's tests need no Django at all."""


@pytest.fixture
def devel(cloudsim):
    """An openstacksdk connection as `demo` in project `devel`."""
    conn = openstack.connect(cloud="cloudsim-devel")
    yield conn
    conn.close()


@pytest.fixture
def admin(cloudsim):
    """An openstacksdk connection as `admin` in project `admin`."""
    conn = openstack.connect(cloud="cloudsim")
    yield conn
    conn.close()
