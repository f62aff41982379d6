"""How fast `GET /openstack/instances` answers for a tenant with 10,000 instances in 1,000 stacks.

Makes a PostgreSQL database of its own, fills it with bulk inserts (no cloud), serves the
portal with gunicorn on a loopback port, and times three layers in one run: the real
endpoint (DRF, token authentication, scope check), a bare Django view that returns the
same rows with `.values()` (`bench/instances_list_urls.py`), and PostgreSQL's own execution
of the queries behind them. Each layer is reported with its ratio to the bare view.

    .venv/bin/python bench/instances_list.py [--stacks 1000] [--per-stack 10] [--workers 2]

Three phases, each bounded in time, the two HTTP targets interleaved in blocks A B B A ...:
one request at a time, with the database timings in the same rounds; a closed loop of a few
connections for saturation throughput; an open loop at a fixed rate (by default 40% of the
endpoint's saturation), each latency measured from the moment the request was due, so that
queueing counts. It also prints the SQL queries per request for a tenant with one stack and
one with all of them, through the test client in this process: the count must not grow with
the stacks.

The load generator shares the two cores with gunicorn and PostgreSQL: figures from a busy
machine are upper bounds, and only ratios within one run compare. Needs PostgreSQL on
127.0.0.1:5432 (user postgres, trust); the database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
HOST = "127.0.0.1"
IMAGE_ID = "52fd3ef8-9f74-5cc4-b98b-31e74d3b2d69"
REQUEST_TIMEOUT = 30.0


class BenchTimeout(Exception):
    """The whole run took longer than --timeout."""


# --- figures --------------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: with under 100 samples, p99 is the slowest one."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Samples:
    """Latencies in seconds of one layer, and the requests that failed or timed out."""

    seconds: list[float] = field(default_factory=list)
    errors: int = 0

    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000 if self.seconds else math.nan

    def p99_ms(self) -> float:
        return percentile(self.seconds, 0.99) * 1000 if self.seconds else math.nan


# --- the database ---------------------------------------------------------------------------


def admin_execute(sql: str) -> None:
    conn = psycopg2.connect(**PG_ADMIN)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


def django_setup(db_name: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.instances_list_settings",
        DATABASE_URL=f"postgres://postgres@{HOST}:5432/{db_name}",
        DEBUG="false",
        LOG_LEVEL="WARNING",  # the in-process test client would log every request
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


@dataclass
class TenantData:
    tenant_id: int
    token: str
    stacks: int
    instances: int


def issue_token(client) -> str:
    """A token stored as the token endpoint stores it (only its checksum); returns it."""
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.generators import generate_client_secret
    from oauth2_provider.models import get_access_token_model, set_token_value

    token = get_access_token_model()(
        application=client, scope=client.scope, expires=timezone.now() + timedelta(hours=2)
    )
    raw = generate_client_secret()
    set_token_value(token, raw)
    token.save()
    return raw


def seed_tenant(cloud, name: str, *, stacks: int, per_stack: int) -> TenantData:
    from oauth2_provider.generators import generate_client_secret

    from accounts.models import ApiClient, Tenant
    from compute.models import Instance, Project, Stack

    tenant = Tenant.objects.create(name=name)
    project = Project.objects.create(tenant=tenant, cloud=cloud, name=name)
    client = ApiClient.objects.create(
        tenant=tenant, name=f"{name}-client", client_secret=generate_client_secret()
    )
    made = Stack.objects.bulk_create(
        [
            Stack(
                project=project,
                state=Stack.State.ACTIVE,
                image_id=IMAGE_ID,
                flavor_id="1",
                instance_count=per_stack,
                user_name="demo",
            )
            for _ in range(stacks)
        ],
        batch_size=1000,
    )
    # Half the instances have a floating IP, as a mixed tenant would.
    fixed = ipaddress.ip_address("10.0.0.10")
    floating = ipaddress.ip_address("172.24.0.10")
    instances = []
    for stack in made:
        for n in range(per_stack):
            number = len(instances)
            instances.append(
                Instance(
                    stack=stack,
                    server_id=str(uuid.uuid4()),
                    name=f"{stack.name}-{n + 1}",
                    state=Instance.State.ACTIVE,
                    fixed_ip=str(fixed + number),
                    floating_ip=str(floating + number) if number % 2 else "",
                    floating_ip_id=str(uuid.uuid4()) if number % 2 else "",
                    flavor_id="1",
                    image_id=IMAGE_ID,
                )
            )
    Instance.objects.bulk_create(instances, batch_size=2000)
    return TenantData(tenant.pk, issue_token(client), stacks, len(instances))


def seed(stacks: int, per_stack: int) -> tuple[TenantData, TenantData]:
    from django.db import connection

    from compute.models import Cloud

    cloud = Cloud.objects.create(name="bench")
    big = seed_tenant(cloud, "bench-big", stacks=stacks, per_stack=per_stack)
    small = seed_tenant(cloud, "bench-small", stacks=1, per_stack=per_stack)
    # Statistics and the visibility map as a database that has been running would have them.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return big, small


# --- in-process checks ----------------------------------------------------------------------


def captured(path: str, token: str | None = None) -> tuple[list[str], dict]:
    """The SQL a request runs, through the test client in this process, and its JSON."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    with CaptureQueriesContext(connection) as queries:
        response = Client().get(path, **headers)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.content!r}")
    return [query["sql"] for query in queries.captured_queries], response.json()


def explain(sql: str) -> float:
    """PostgreSQL's own execution time of one query, in seconds (no rows sent)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    return plan[0]["Execution Time"] / 1000


def execute_and_fetch(sql: str) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        cursor.fetchall()
    return time.perf_counter() - started


# --- gunicorn -------------------------------------------------------------------------------


def start_gunicorn(args, db_name: str, log_path: Path):
    """gunicorn on a loopback socket this process binds, so no other process can take it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((HOST, 0))
    listener.listen(1024)
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="bench.instances_list_settings",
        DATABASE_URL=f"postgres://postgres@{HOST}:5432/{db_name}",
        DATABASE_CONN_MAX_AGE=str(args.conn_max_age),
        DEBUG="false",
        LOG_LEVEL="INFO",  # the portal's default: one log line per request is part of its cost
        PYTHONPATH=str(ROOT),
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "portal.wsgi:application",
        "--bind",
        f"fd://{listener.fileno()}",
        "--workers",
        str(args.workers),
        "--worker-class",
        "gthread" if args.threads > 1 else "sync",
        "--threads",
        str(args.threads),
        "--timeout",
        "120",
        "--chdir",
        str(ROOT),
        "--error-logfile",
        str(log_path),
        # Its default control socket is one path per user: two runs at once would share it.
        "--no-control-socket",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            command, env=env, pass_fds=[listener.fileno()], stdout=log, stderr=log
        )
    listener.close()
    return process, port


def stop_process(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- the load generator ---------------------------------------------------------------------


@dataclass
class Target:
    path: str
    token: str | None = None

    def request(self, port: int) -> bytes:
        auth = f"Authorization: Bearer {self.token}\r\n" if self.token else ""
        return (
            f"GET {self.path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{auth}"
            "Accept: application/json\r\nConnection: close\r\n\r\n"
        ).encode()


async def fetch(port: int, request: bytes) -> int:
    """One request on its own connection, closed after the answer; the answer's status."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    return int(answer[9:12]) if answer.startswith(b"HTTP/1.") else 0


async def timed_fetch(port: int, request: bytes, since: float | None, into: Samples) -> None:
    """Record the time from `since` (the loop's clock; None: now) to the end of the answer."""
    loop = asyncio.get_running_loop()
    since = loop.time() if since is None else since
    try:
        status = await asyncio.wait_for(fetch(port, request), REQUEST_TIMEOUT)
    except (OSError, TimeoutError):
        status = 0
    if status == 200:
        into.seconds.append(loop.time() - since)
    else:
        into.errors += 1


async def wait_until_serving(port: int, deadline_s: float = 30.0) -> None:
    request = Target("/healthz").request(port)
    give_up = time.monotonic() + deadline_s
    while time.monotonic() < give_up:
        try:
            if await asyncio.wait_for(fetch(port, request), 5) == 200:
                return
        except (OSError, TimeoutError):
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz within %.0f s" % deadline_s)


async def open_loop(port: int, target: Target, rate: float, seconds: float, into: Samples):
    """Send at a fixed rate whatever happens to the answers; latency from the due time."""
    loop = asyncio.get_running_loop()
    request = target.request(port)
    start = loop.time() + 0.05
    pending = []
    for n in range(max(1, round(rate * seconds))):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        pending.append(asyncio.create_task(timed_fetch(port, request, due, into)))
    await asyncio.gather(*pending)


async def closed_loop(port: int, target: Target, connections: int, seconds: float) -> float:
    """Requests completed per second by `connections` clients that each send back to back."""
    loop = asyncio.get_running_loop()
    request = target.request(port)
    started = loop.time()
    stop_at = started + seconds
    done = Samples()

    async def client():
        while loop.time() < stop_at:
            await timed_fetch(port, request, loop.time(), done)

    await asyncio.gather(*(client() for _ in range(connections)))
    return len(done.seconds) / (loop.time() - started)


def abba(first, second, number: int):
    """Block or round `number` in the order A B, B A, A B, ...: a slow spell of the machine
    hits both targets alike."""
    return (first, second) if number % 2 == 0 else (second, first)


# --- the run --------------------------------------------------------------------------------


def measure(args, port: int, endpoint: Target, bare: Target, sql: dict) -> dict:
    # One event loop for the HTTP parts; the database timings run between them, outside it,
    # as Django's database layer refuses to run inside an event loop.
    with asyncio.Runner() as runner:
        return _measure(runner, args, port, endpoint, bare, sql)


def _measure(runner, args, port: int, endpoint: Target, bare: Target, sql: dict) -> dict:
    runner.run(wait_until_serving(port))
    for target in (endpoint, bare, endpoint, bare):
        runner.run(timed_fetch(port, target.request(port), None, Samples()))

    # One request at a time, with the database timings in the same rounds.
    serial = {key: Samples() for key in ("endpoint", "bare", "db_endpoint", "db_bare", "fetch")}
    phase_end = time.monotonic() + args.serial_seconds
    for round_no in range(args.rounds):
        if time.monotonic() > phase_end:
            break
        for key, target in abba(("endpoint", endpoint), ("bare", bare), round_no):
            runner.run(timed_fetch(port, target.request(port), None, serial[key]))
        serial["db_endpoint"].seconds.append(sum(explain(q) for q in sql["endpoint"]))
        serial["db_bare"].seconds.append(explain(sql["bare"]))
        serial["fetch"].seconds.append(execute_and_fetch(sql["bare"]))

    # The closed loop before the open one: its throughput sets the open loop's default rate.
    throughput = {"endpoint": [], "bare": []}
    for block in range(args.blocks):
        for key, target in abba(("endpoint", endpoint), ("bare", bare), block):
            seconds = args.closed_seconds / args.blocks
            throughput[key].append(
                runner.run(closed_loop(port, target, args.connections, seconds))
            )
    capacity = {key: statistics.median(values) for key, values in throughput.items()}

    rate = args.rate or max(0.5, round(0.4 * capacity["endpoint"] * 2) / 2)
    opened = {"endpoint": Samples(), "bare": Samples()}
    for block in range(args.blocks):
        for key, target in abba(("endpoint", endpoint), ("bare", bare), block):
            seconds = args.open_seconds / args.blocks
            runner.run(open_loop(port, target, rate, seconds, opened[key]))
    return {
        "serial": serial,
        "open": opened,
        "rate": rate,
        "capacity": capacity,
        "throughput": throughput,
    }


def report(args, big: TenantData, counts: tuple[int, int], sql: dict, results: dict) -> None:
    serial, opened, capacity = results["serial"], results["open"], results["capacity"]
    print()
    print(
        "GET /openstack/instances: one tenant, %s instances in %s stacks; gunicorn %d x %s; "
        "DATABASE_CONN_MAX_AGE %d; %d CPUs"
        % (
            f"{big.instances:,}",
            f"{big.stacks:,}",
            args.workers,
            f"gthread {args.threads} threads" if args.threads > 1 else "sync",
            args.conn_max_age,
            os.cpu_count(),
        )
    )
    print(
        "SQL queries per request (test client): 1 stack %d, %s stacks %d: %s"
        % (
            counts[0],
            f"{big.stacks:,}",
            counts[1],
            "constant" if counts[0] == counts[1] else "GROWS WITH THE STACKS",
        )
    )

    base = serial["bare"].median_ms()
    print()
    print("one request at a time, %d rounds interleaved" % len(serial["bare"].seconds))
    print("%-52s %9s %9s %8s" % ("", "median ms", "p99 ms", "x bare"))
    rows = (
        ("endpoint: DRF, token, scope, grouping", "endpoint"),
        ("bare view: .values() + JsonResponse", "bare"),
        ("PostgreSQL execution, endpoint's %d queries" % len(sql["endpoint"]), "db_endpoint"),
        ("PostgreSQL execution, bare view's query", "db_bare"),
        ("bare view's query executed and fetched (psycopg2)", "fetch"),
    )
    for label, key in rows:
        samples = serial[key]
        print(
            "%-52s %9.1f %9.1f %8.2f"
            % (label, samples.median_ms(), samples.p99_ms(), samples.median_ms() / base)
        )

    base = opened["bare"].median_ms()
    print()
    print(
        "open loop at %.1f req/s for each target, %.0f s each in %d blocks A B B A ...; "
        "latency from the due time" % (results["rate"], args.open_seconds, args.blocks)
    )
    print("%-52s %9s %9s %8s %6s %6s" % ("", "median ms", "p99 ms", "x bare", "n", "errors"))
    for label, key in (("endpoint", "endpoint"), ("bare view", "bare")):
        samples = opened[key]
        print(
            "%-52s %9.1f %9.1f %8.2f %6d %6d"
            % (
                label,
                samples.median_ms(),
                samples.p99_ms(),
                samples.median_ms() / base,
                len(samples.seconds),
                samples.errors,
            )
        )

    print()
    print(
        "closed loop, %d connections, %.0f s each in %d blocks A B B A ...; median of the blocks"
        % (args.connections, args.closed_seconds, args.blocks)
    )
    print("%-52s %9s %9s %17s" % ("", "req/s", "x bare", "blocks min-max"))
    for label, key in (("endpoint", "endpoint"), ("bare view", "bare")):
        blocks = results["throughput"][key]
        print(
            "%-52s %9.1f %9.2f %8.1f-%-8.1f"
            % (label, capacity[key], capacity[key] / capacity["bare"], min(blocks), max(blocks))
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stacks", type=int, default=1000)
    parser.add_argument("--per-stack", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="per worker; >1: gthread")
    parser.add_argument("--conn-max-age", type=int, default=0, help="DATABASE_CONN_MAX_AGE")
    parser.add_argument("--rounds", type=int, default=30, help="rounds of the serial phase")
    parser.add_argument("--serial-seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=0.0, help="open loop req/s (0: auto)")
    parser.add_argument("--open-seconds", type=float, default=20.0, help="per target")
    parser.add_argument("--closed-seconds", type=float, default=10.0, help="per target")
    parser.add_argument("--connections", type=int, default=4, help="of the closed loop")
    parser.add_argument("--blocks", type=int, default=4, help="per target and loop phase")
    parser.add_argument("--timeout", type=int, default=600, help="give up after (s)")
    args = parser.parse_args()

    def give_up(signum, frame):
        raise BenchTimeout(f"gave up after {args.timeout} s")

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGALRM, give_up)
    signal.signal(signal.SIGTERM, terminate)
    signal.alarm(args.timeout)

    db_name = f"ipaas_bench_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="ipaas-bench-"))
    log_path = workdir / "gunicorn.log"
    server = None
    created = False
    try:
        admin_execute(f'CREATE DATABASE "{db_name}"')
        created = True
        started = time.perf_counter()
        django_setup(db_name)
        big, small = seed(args.stacks, args.per_stack)
        print(
            "database %s: migrated and seeded %s instances in %.1f s"
            % (db_name, f"{big.instances + small.instances:,}", time.perf_counter() - started)
        )

        endpoint = Target("/openstack/instances", big.token)
        bare = Target(f"/bench/instances/{big.tenant_id}")
        small_sql, _ = captured(endpoint.path, small.token)
        big_sql, listed = captured(endpoint.path, big.token)
        bare_sql, bare_listed = captured(bare.path)
        if sum(len(rows) for rows in listed["data"].values()) != big.instances:
            raise RuntimeError("the endpoint did not list every instance")
        if len(bare_listed["data"]) != big.instances:
            raise RuntimeError("the bare view did not list every instance")
        sql = {
            "endpoint": [q for q in big_sql if q.lstrip().upper().startswith("SELECT")],
            "bare": bare_sql[0],
        }

        server, port = start_gunicorn(args, db_name, log_path)
        print("gunicorn pid %d on %s:%d" % (server.pid, HOST, port))
        results = measure(args, port, endpoint, bare, sql)
        signal.alarm(0)
        report(args, big, (len(small_sql), len(big_sql)), sql, results)
        return 0
    except BaseException:
        if log_path.exists():
            tail = log_path.read_text(errors="replace").splitlines()[-20:]
            print("gunicorn log, last lines:\n  " + "\n  ".join(tail), file=sys.stderr)
        raise
    finally:
        signal.alarm(0)
        stop_process(server)
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if created:
            admin_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    sys.exit(main())
