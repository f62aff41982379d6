"""pytest fixtures that run cloudsim in the test process.

Load with `pytest_plugins = ["cloudsim.pytest_plugin"]` in the root conftest.

- `cloudsim_server` (session): one cloudsim on a free loopback port with short boot and
  delete times, its clouds.yaml written to a temporary folder and exported as
  `OS_CLIENT_CONFIG_FILE`, so `openstack.connect(cloud="cloudsim-devel")` just works.
- `cloudsim` (function): the same server, reset to its preset before the test (state,
  timings, faults and call counts); tokens survive, so connections may be kept.
"""

from __future__ import annotations

import os

import pytest

from cloudsim.server import SimServer, start

# Short enough for a fast suite, long enough that BUILD and deleting states are seen.
TEST_BOOT_TIME = 0.2
TEST_DELETE_TIME = 0.2


@pytest.fixture(scope="session")
def cloudsim_server(tmp_path_factory) -> SimServer:
    """A cloudsim for the whole session, with `clouds_yaml` and `OS_CLIENT_CONFIG_FILE` set."""
    sim = start(port=0, boot_time=TEST_BOOT_TIME, delete_time=TEST_DELETE_TIME, seed=20240601)
    path = sim.write_clouds_yaml(tmp_path_factory.mktemp("cloudsim") / "clouds.yaml")
    previous = os.environ.get("OS_CLIENT_CONFIG_FILE")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(path)
    yield sim
    if previous is None:
        os.environ.pop("OS_CLIENT_CONFIG_FILE", None)
    else:
        os.environ["OS_CLIENT_CONFIG_FILE"] = previous
    sim.stop()


@pytest.fixture
def cloudsim(cloudsim_server: SimServer) -> SimServer:
    """The session's cloudsim, reset to its preset for this test."""
    cloudsim_server.control.reset()
    return cloudsim_server
