"""How long the real Celery worker takes to build and delete 50 stacks of 4 on a slow cloud.

Starts cloudsim in this process with 200 ms on every cloud call and a 5 s boot, makes a
PostgreSQL database of its own, starts `celery -A portal worker` subprocesses on a RabbitMQ
queue of the run's own, and drives stacks through the services the API calls
(`stack_request_check`, `stack_create`, `stack_delete`). It times one stack alone first (the
baseline of the run), then 50 at once, and counts cloudsim's calls per instance.

    .venv/bin/python bench/provisioning.py [--stacks 50] [--pool prefork] [--concurrency 4]

Each phase is set beside two floors: the cloud floor, boot (or delete) time plus the calls
of one stack that are not status polls, made one after another; and the worker floor, every
call of the phase holding a worker slot for its latency, shared by all slots. Needs
PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and RabbitMQ on 127.0.0.1:5672
(guest/guest); the database, the queue and its exchange are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
# Status polls: the list a waiting step repeats until the servers change state.
POLL_ROUTE = "GET /compute/v2.1/servers/detail"
CREATE_DONE = ("ACTIVE", "FAILED")
DELETE_DONE = ("DELETED", "FAILED")


class BenchTimeout(Exception):
    """The whole run took longer than --timeout."""


def admin_execute(sql: str) -> None:
    conn = psycopg2.connect(**PG_ADMIN)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


# --- workers --------------------------------------------------------------------------------


@dataclass
class Workers:
    processes: list[subprocess.Popen] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def start(self, args, env: dict, log_path: Path) -> None:
        for number in range(args.workers):
            name = f"bench-{os.getpid()}-{number}@{socket.gethostname()}"
            command = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--pool",
                args.pool,
                "--concurrency",
                str(args.concurrency),
                "--queues",
                ",".join(args.queues),
                "--hostname",
                name,
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "WARNING",
            ]
            with log_path.open("ab") as log:
                # A session of its own, so that stopping it reaches its pool children too.
                process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            self.processes.append(process)
            self.names.append(name)

    def wait_ready(self, app, timeout: float = 60.0) -> None:
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"worker pid {process.pid} exited: {process.returncode}")
            replies = app.control.ping(destination=self.names, timeout=1.0)
            if len(replies) == len(self.names):
                return
        raise RuntimeError(f"the workers did not answer a ping within {timeout:.0f} s")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # warm shutdown: finish the running step
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def run_queues(app, prefix: str) -> list[str]:
    """The queues this run's tasks go to; all must be the run's own, never a shared one."""
    names = [queue.name for queue in app.conf.task_queues or ()] or [app.conf.task_default_queue]
    routes = app.conf.task_routes or {}
    routed = [route["queue"] for route in routes.values() if isinstance(route, dict)]
    default = app.conf.task_default_queue
    strangers = [name for name in [*names, *routed, default] if not name.startswith(prefix)]
    if strangers:
        raise RuntimeError(f"tasks would go to queues not of this run: {strangers}")
    return names


def delete_queues(app, names: list[str]) -> None:
    """The run's queues and their exchanges of the same names, so the broker keeps nothing."""
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for name in names:
            channel.queue_delete(name)
            channel.exchange_delete(name)


# --- phases ---------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    stacks: int
    instances: int
    wall: float
    per_stack: list[float]
    states: Counter
    calls: dict

    def calls_per_stack(self, route_filter=lambda route: True) -> float:
        routes = self.calls["by_route"]
        return sum(n for route, n in routes.items() if route_filter(route)) / self.stacks


def wait_for_states(ids: list[int], done: tuple[str, ...], deadline: float) -> Counter:
    from compute.models import Stack

    while True:
        states = Counter(Stack.objects.filter(pk__in=ids).values_list("state", flat=True))
        if sum(states[state] for state in done) == len(ids):
            return states
        if time.monotonic() > deadline:
            raise BenchTimeout(f"stacks still not {'/'.join(done)}: {dict(states)}")
        time.sleep(0.1)


def operation_times(ids: list[int], kind: str) -> list[float]:
    """Seconds from each stack's request to the end of its operation of this kind."""
    from compute.models import Operation

    operations = Operation.objects.filter(stack_id__in=ids, kind=kind, finished__isnull=False)
    return [(op.finished - op.created).total_seconds() for op in operations]


def create_phase(
    name: str, count: int, project, image_id: str, args, sim, deadline: float
) -> tuple:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from compute import services
    from compute.models import Operation

    request = services.StackRequest(
        user_name="demo",
        image_id=image_id,
        flavor_id=args.flavor,
        instance_count=args.instances,
        floating_ip=args.floating_ip,
    )
    sim.control.clear_calls()
    started = time.monotonic()
    ids, queries = [], []
    for _ in range(count):
        # What the API does per create; its SQL should not grow with the stacks under way.
        with CaptureQueriesContext(connection) as captured:
            services.stack_request_check(project=project, request=request)
            ids.append(services.stack_create(project=project, request=request).pk)
        queries.append(len(captured))
    submitted = time.monotonic() - started
    states = wait_for_states(ids, CREATE_DONE, deadline)
    wall = time.monotonic() - started
    phase = Phase(
        name,
        len(ids),
        len(ids) * args.instances,
        wall,
        operation_times(ids, Operation.Kind.CREATE),
        states,
        sim.control.calls(),
    )
    return phase, ids, (submitted, queries)


def delete_phase(name: str, ids: list[int], args, sim, deadline: float) -> Phase:
    from compute import services
    from compute.models import Operation, Stack

    sim.control.clear_calls()
    started = time.monotonic()
    for stack in Stack.objects.filter(pk__in=ids):
        services.stack_delete(stack=stack)
    states = wait_for_states(ids, DELETE_DONE, deadline)
    wall = time.monotonic() - started
    return Phase(
        name,
        len(ids),
        len(ids) * args.instances,
        wall,
        operation_times(ids, Operation.Kind.DELETE),
        states,
        sim.control.calls(),
    )


# --- the report -----------------------------------------------------------------------------


def floors(phase: Phase, settle_time: float, args) -> tuple[float, float]:
    """The cloud floor of one stack, and the worker floor of the whole phase, in seconds."""
    serial_calls = phase.calls_per_stack(lambda route: route != POLL_ROUTE)
    # One status poll at least sees the servers settled.
    cloud = settle_time + (serial_calls + 1) * args.latency
    slots = args.workers * args.concurrency
    worker = phase.calls["total"] * args.latency / slots
    return cloud, worker


def report(args, phases: dict[str, Phase], submitted: tuple, leftovers: dict) -> None:
    seconds, queries = submitted
    print()
    print(
        "%d stacks x %d instances, flavor %s, floating IPs %s; cloudsim %d ms per call, "
        "boot %.0f s, delete %.0f s"
        % (
            args.stacks,
            args.instances,
            args.flavor,
            "yes" if args.floating_ip else "no",
            args.latency * 1000,
            args.boot_time,
            args.delete_time,
        )
    )
    print(
        "celery: %d worker(s) x --pool %s --concurrency %d; CLOUD_POLL_SECONDS %.1f; "
        "%d creates submitted in %.2f s"
        % (args.workers, args.pool, args.concurrency, args.poll, args.stacks, seconds)
    )
    print(
        "SQL queries to check and record a create: the first %d, create no. %d %d%s"
        % (
            queries[0],
            len(queries),
            queries[-1],
            "" if queries[0] == queries[-1] else " (grows with the stacks being built)",
        )
    )
    print()
    header = "%-16s %6s %8s %10s %10s %9s %9s %9s %8s"
    print(
        header
        % (
            "phase",
            "stacks",
            "wall s",
            "stack med",
            "stack max",
            "x alone",
            "cloud fl",
            "work fl",
            "calls/i",
        )
    )
    for key in ("one stack create", "create", "one stack delete", "delete"):
        phase = phases.get(key)
        if phase is None:
            continue
        settle = args.boot_time if "create" in key else args.delete_time
        cloud, worker = floors(phase, settle, args)
        alone = phases.get("one stack " + key.split()[-1])
        ratio = phase.wall / alone.wall if alone else float("nan")
        per_stack = phase.per_stack or [float("nan")]
        print(
            "%-16s %6d %8.1f %10.1f %10.1f %9.2f %9.1f %9.1f %8.2f"
            % (
                key,
                phase.stacks,
                phase.wall,
                statistics.median(per_stack),
                max(per_stack),
                ratio,
                cloud,
                worker,
                phase.calls["total"] / phase.instances,
            )
        )
        if phase.states.get("FAILED"):
            print("%-16s FAILED stacks: %d" % ("", phase.states["FAILED"]))
    print(
        "stack med, max: seconds from a stack's request to the end of its operation; x alone: "
        "wall time over\nthe one-stack run's; cloud fl: settle time + one stack's calls that "
        "are not status polls, one\nafter another; work fl: every call of the phase holding "
        "a worker slot for its latency; calls/i:\ncloud calls per instance."
    )

    print()
    print("cloud calls per instance, by route")
    routes = sorted(
        set(phases["create"].calls["by_route"]) | set(phases["delete"].calls["by_route"])
    )
    print("%-56s %8s %8s" % ("", "create", "delete"))
    for service in ("identity", "compute", "image", "network"):
        for route in routes:
            if not route.split(" ", 1)[1].startswith("/" + service):
                continue
            counts = [
                phases[key].calls["by_route"].get(route, 0) / phases[key].instances
                for key in ("create", "delete")
            ]
            print("%-56s %8.2f %8.2f" % (route, *counts))
    for key in ("create", "delete"):
        by_service = phases[key].calls["by_service"]
        summary = ", ".join(
            "%s %.2f" % (service, n / phases[key].instances)
            for service, n in sorted(by_service.items())
        )
        print("%s per instance by service: %s" % (key, summary))

    print()
    clean = not any(leftovers.values())
    print(
        "cloudsim at the end, project devel: %s -> %s"
        % (", ".join(f"{kind} {n}" for kind, n in leftovers.items()), "clean" if clean else "LEAK")
    )


# --- the run --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stacks", type=int, default=50)
    parser.add_argument("--instances", type=int, default=4, help="per stack")
    parser.add_argument("--flavor", default="1")
    parser.add_argument("--floating-ip", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per cloud call")
    parser.add_argument("--boot-time", type=float, default=5.0)
    parser.add_argument("--delete-time", type=float, default=1.0)
    parser.add_argument("--poll", type=float, default=1.0, help="CLOUD_POLL_SECONDS")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=int, default=600, help="give up after (s)")
    args = parser.parse_args()

    def give_up(signum, frame):
        raise BenchTimeout(f"gave up after {args.timeout} s")

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGALRM, give_up)
    signal.signal(signal.SIGTERM, terminate)
    signal.alarm(args.timeout)
    deadline = time.monotonic() + args.timeout

    pid = os.getpid()
    db_name = f"ipaas_bench_{pid}"
    queue = f"ipaas-bench-{pid}"
    workdir = Path(tempfile.mkdtemp(prefix="ipaas-bench-"))
    worker_log = workdir / "worker.log"
    from cloudsim.server import start as cloudsim_start

    sim = cloudsim_start(port=0, boot_time=args.boot_time, delete_time=args.delete_time)
    clouds_yaml = sim.write_clouds_yaml(workdir / "clouds.yaml")
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{db_name}",
        CELERY_BROKER_URL=BROKER_URL,
        # The portal names its queues after a prefix; older settings read the default queue.
        CELERY_QUEUE_PREFIX=queue,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        CLOUD_POLL_SECONDS=str(args.poll),
        OS_CLIENT_CONFIG_FILE=str(clouds_yaml),
        DEBUG="false",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    os.environ.update(env)
    workers = Workers()
    app = None
    created = False
    try:
        admin_execute(f'CREATE DATABASE "{db_name}"')
        created = True
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        from accounts.models import Tenant
        from compute import services
        from compute.models import Cloud, Project
        from portal.celery import app

        args.queues = run_queues(app, queue)
        workers.start(args, env, worker_log)
        sim.control.set_quota(
            "devel", instances=300, cores=600, ram=10**7, floating_ips=300, ports=1000
        )
        tenant = Tenant.objects.create(name="bench")
        cloud = Cloud.objects.create(name="cloudsim", region="RegionOne")
        project = Project.objects.create(tenant=tenant, cloud=cloud, name="devel")
        catalog = services.catalog_refresh(project=project)
        image_id = next(image["id"] for image in catalog.images if image["name"] == "cirros")
        sim.control.add_latency(args.latency)
        workers.wait_ready(app)
        print(
            "database %s, queue %s, cloudsim %s, worker pids %s"
            % (db_name, queue, sim.url, [p.pid for p in workers.processes])
        )

        phases = {}
        phase, ids, _ = create_phase("one stack", 1, project, image_id, args, sim, deadline)
        phases["one stack create"] = phase
        phases["one stack delete"] = delete_phase("one stack", ids, args, sim, deadline)
        phase, ids, submitted = create_phase(
            "create", args.stacks, project, image_id, args, sim, deadline
        )
        phases["create"] = phase
        phases["delete"] = delete_phase("delete", ids, args, sim, deadline)
        signal.alarm(0)

        devel = sim.control.state()["projects"]["devel"]
        leftovers = {kind: len(devel[kind]) for kind in ("servers", "floating_ips", "ports")}
        report(args, phases, submitted, leftovers)
        return 0 if not any(leftovers.values()) else 1
    except BaseException:
        if worker_log.exists():
            tail = worker_log.read_text(errors="replace").splitlines()[-30:]
            print("worker log, last lines:\n  " + "\n  ".join(tail), file=sys.stderr)
        raise
    finally:
        signal.alarm(0)
        workers.stop()
        if app is not None and getattr(args, "queues", None):
            delete_queues(app, args.queues)
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if created:
            admin_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        sim.stop()
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    sys.exit(main())
