"""A worker killed with SIGKILL in the middle of provisioning: after a restart the stack ends
ACTIVE with exactly its servers and addresses, because RabbitMQ hands the unacknowledged
message to the next worker and every step looks before it creates."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from compute.tests.conftest import launch, sim_project_state, wait_for, wait_for_stack

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_process(transactional_db, fast_cloud, cloudsim, tmp_path):
    """Starts `celery worker` processes on queues of their own; kills what is left."""
    prefix = f"ipaas-crash-{os.getpid()}"
    fast_cloud.CELERY_QUEUE_PREFIX = prefix
    database = django_settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "CELERY_QUEUE_PREFIX": prefix,
        "OS_CLIENT_CONFIG_FILE": os.environ["OS_CLIENT_CONFIG_FILE"],
        "CLOUD_POLL_SECONDS": "0.2",
        "OPERATION_BACKOFF_MAX_SECONDS": "0.5",
        "LOG_LEVEL": "WARNING",
    }
    started = []

    def start():
        log = open(tmp_path / f"worker-{len(started)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _kill(process) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.parametrize(
    ("service", "path", "route"),
    [
        # killed while Nova creates the servers
        ("compute", r"/servers$", "POST /compute/v2.1/servers"),
        # killed while an address is allocated
        ("network", r"/floatingips$", "POST /network/v2.0/floatingips"),
    ],
)
def test_a_worker_killed_mid_step_leaves_exactly_the_stacks_servers_and_addresses(
    client, devel, cloudsim, worker_process, service, path, route
):
    cloudsim.control.add_latency(1.5, service=service, method="POST", path=path, count=1)
    first = worker_process()

    name = launch(client, devel, instance_count="3", floating_ip="true")
    wait_for(
        lambda: cloudsim.control.calls()["by_route"].get(route),
        timeout=60,
        what=f"the worker to be inside {route}",
    )
    _kill(first)
    time.sleep(2.0)  # the slow call finishes in the cloud after its caller died
    worker_process()

    stack = wait_for_stack(name, "ACTIVE", "FAILED", timeout=90)

    assert stack.state == "ACTIVE", stack.error
    state = sim_project_state(cloudsim)
    assert len(state["servers"]) == 3
    assert len(state["floating_ips"]) == 3
    assert sorted(i.server_id for i in stack.instances.all()) == sorted(
        s["id"] for s in state["servers"]
    )
