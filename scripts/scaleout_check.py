"""Scale-out check on one machine: two web nodes and two workers sharing PostgreSQL and RabbitMQ.

    .venv/bin/python scripts/scaleout_check.py [--stacks 20] [--burst 50] [--no-broker-restart]

It starts, each with the production profile: cloudsim as the cloud, two gunicorn web
processes, two Celery workers and one beat, on a fresh PostgreSQL database and a queue prefix
of its own. Then, printing what it checks:

1. 20 stacks created and deleted concurrently through both web nodes: every stack ends
   ACTIVE then DELETED, each has exactly its servers in the cloud (none made twice), and the
   cloud is empty at the end.
2. A worker stopped with SIGTERM while stacks are being built: it finishes or hands back what
   it holds, and every stack still ends right.
3. A burst of 50 creates while RabbitMQ's application is stopped for a few seconds
   (`rabbitmqctl stop_app` / `start_app`): every create answered 200 (kept in the outbox) or
   503 in the envelope, every accepted stack ends ACTIVE and then DELETED, none twice.

Step 3 stops the RabbitMQ application of this machine, which other test runs share: it says
so when it does, keeps the outage short, and is skipped with --no-broker-restart. Needs
PostgreSQL (postgres@127.0.0.1:5432), RabbitMQ (guest@127.0.0.1:5672) and Redis (:6379).
"""

import argparse
import concurrent.futures
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import psycopg2

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from cloudsim.control import SimControl  # noqa: E402

PYTHON = sys.executable
BIN = Path(PYTHON).parent
ADMIN_DSN = "postgres://postgres@127.0.0.1:5432/postgres"
BROKER = "amqp://guest:guest@127.0.0.1:5672//"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(text: str) -> None:
    print(text, flush=True)


class Run:
    """The processes, database and queues of one run, and what it measured."""

    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="ipaas-scaleout-"))
        self.tag = f"scaleout{os.getpid()}"
        self.database = f"ipaas_{self.tag}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.sim_port, self.web_ports = free_port(), [free_port(), free_port()]
        self.env = {
            **os.environ,
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "DJANGO_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.database}",
            "CELERY_BROKER_URL": BROKER,
            "CACHE_URL": "rediscache://127.0.0.1:6379/3",
            "CELERY_QUEUE_PREFIX": self.tag,
            "OS_CLIENT_CONFIG_FILE": str(self.tmp / "clouds.yaml"),
            "LOG_FORMAT": "json",
            "STATIC_ROOT": str(self.tmp / "static"),
            # Fast hashing: the bench measures provisioning, not PBKDF2.
            "PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
            "CLOUD_POLL_SECONDS": "0.5",
            "OPERATION_STALL_SECONDS": "10",
            "WATCHDOG_INTERVAL_SECONDS": "3",
            "OPERATION_BACKOFF_MAX_SECONDS": "2",
            "STACK_BUILD_TIMEOUT_SECONDS": "300",
            "STACK_DELETE_TIMEOUT_SECONDS": "300",
            "CATALOG_MAX_AGE_SECONDS": "3600",
            "RECONCILE_INTERVAL_SECONDS": "3600",
            "DATABASE_CONN_MAX_AGE": "60",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.sim = SimControl(f"http://127.0.0.1:{self.sim_port}")
        self.token = ""
        self.figures: list[tuple[str, str]] = []

    # --- processes ---------------------------------------------------------------------------

    def start(self, name: str, command: list[str], **env) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(  # noqa: S603 - our own tools, fixed arguments
            command,
            cwd=BASE_DIR,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def manage(self, *arguments: str) -> str:
        return subprocess.run(  # noqa: S603
            [PYTHON, "manage.py", *arguments],
            cwd=BASE_DIR,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def start_worker(self, name: str) -> subprocess.Popen:
        return self.start(
            name,
            [str(BIN / "celery"), "-A", "portal", "worker", "--loglevel", "INFO",
             "--concurrency", "2", "-n", f"{name}.{self.tag}@%h",
             "--without-gossip", "--without-mingle"],
        )  # fmt: skip

    def set_up(self) -> None:
        say(f"Working folder {self.tmp}; database {self.database}; queue prefix {self.tag}")
        admin_sql(f'CREATE DATABASE "{self.database}"')

        self.start(
            "cloudsim",
            [PYTHON, "-m", "cloudsim", "--port", str(self.sim_port),
             "--clouds-yaml", str(self.tmp / "clouds.yaml"),
             "--boot-time", "1.0", "--delete-time", "0.5"],
        )  # fmt: skip
        wait_until(lambda: self._sim_up(), 30, "cloudsim")
        self.sim.set_quota(  # room for the burst: cloudsim's default is Nova's 10 servers
            "devel", instances=500, cores=1000, ram=10_000_000, floating_ips=200
        )

        # The release step of the Procfile.
        self.manage("migrate", "--no-input")
        self.manage("collectstatic", "--no-input")
        self.manage("create_tenant", "acme")
        client = json.loads(self.manage("create_api_client", "acme", "--name", "bench", "--json"))
        self.manage(
            "shell",
            "-c",
            "from accounts.models import Tenant; from compute.models import Cloud, Project; "
            "Project.objects.create(tenant=Tenant.objects.get(name='acme'), name='devel', "
            "cloud=Cloud.objects.create(name='cloudsim', region='RegionOne'))",
        )

        for index, port in enumerate(self.web_ports, 1):
            self.start(
                f"web{index}",
                [str(BIN / "gunicorn"), "--config", "python:portal.gunicorn_conf",
                 "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
                 "portal.wsgi"],
            )  # fmt: skip
        self.start_worker("worker1")
        self.start_worker("worker2")
        self.start(
            "beat",
            [str(BIN / "celery"), "-A", "portal", "beat", "--loglevel", "INFO",
             "--schedule", str(self.tmp / "beat-schedule")],
        )  # fmt: skip
        for port in self.web_ports:
            wait_until(lambda p=port: self.http("GET", p, "/healthz")[0] == 200, 60, "gunicorn")
        status, body = self.http(
            "POST",
            self.web_ports[0],
            "/oauth/token",
            form={
                "grant_type": "client_credentials",
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
        assert status == 200, body
        self.token = body["access_token"]
        self.client_secret = client["client_secret"]
        docs = urllib.request.urlopen(
            f"http://127.0.0.1:{self.web_ports[0]}/static/drf_spectacular_sidecar/"
            "swagger-ui-dist/swagger-ui-bundle.js"
        )
        say(f"Static file through whitenoise: {docs.status}, {docs.headers['Cache-Control']}")
        status, ready = self.http("GET", self.web_ports[1], "/readyz")
        say(f"/readyz on web2: {status} " + ", ".join(
            f"{k}={'ok' if v['ok'] else 'DOWN'} {v['latency_ms']}ms"
            for k, v in ready["checks"].items()
        ))  # fmt: skip
        self.image = next(
            i["id"]
            for i in self.api("GET", "/openstack/images?project_name=devel")[1]["data"]["images"]
            if i["name"] == "cirros"
        )

    def _sim_up(self) -> bool:
        try:
            return bool(self.sim.health())
        except OSError:
            return False

    def logs_checks(self) -> None:
        say("\n4. The logs of every process")
        lines = [
            line
            for path in self.tmp.glob("*.log")
            if path.stem != "cloudsim"
            for line in path.read_text(errors="replace").splitlines()
        ]
        text = "\n".join(lines)
        leaked = [s for s in (self.token, self.client_secret) if s in text]
        self.check("no token or client secret in any log line", not leaked, f"{len(lines)} lines")
        parsed = []
        for line in lines:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                continue
        with_id = [p for p in parsed if p.get("request_id", "-") != "-"]
        say(f"  {len(parsed)} of {len(lines)} lines are JSON; {len(with_id)} carry a request id")
        finished = [p for p in parsed if p["message"].startswith("Operation finished")]
        anonymous = [p for p in finished if p.get("request_id", "-") == "-"]
        self.check("every worker line of a finished operation carries its request id",
                   bool(finished) and not anonymous,
                   f"{len(finished) - len(anonymous)} of {len(finished)}")  # fmt: skip

    def tear_down(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self._delete_queues()
        say(f"Cleaned up: processes stopped, database and queues dropped; logs in {self.tmp}")

    def _delete_queues(self) -> None:
        from kombu import Connection

        from portal.celery import QUEUE_KINDS

        with Connection(BROKER) as conn:
            channel = conn.channel()
            for name in [self.tag] + [f"{self.tag}.{kind}" for kind in QUEUE_KINDS]:
                try:
                    channel.queue_delete(name)
                    channel.exchange_delete(name)
                except Exception:  # noqa: S110 - a queue never declared is fine
                    pass

    # --- HTTP --------------------------------------------------------------------------------

    def http(self, method, port, path, *, form=None, token=None):
        data = urllib.parse.urlencode(form).encode() if form else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=data, method=method
        )
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def api(self, method, path, *, form=None, web: int = 0):
        return self.http(method, self.web_ports[web % 2], path, form=form, token=self.token)

    def create(self, index: int) -> tuple[int, str]:
        form = {
            "user_name": "demo",
            "project_name": "devel",
            "image_id": self.image,
            "flavor_id": "1",
            "instance_count": "1",
            "floating_ip": "false",
        }
        status, body = self.api("POST", "/openstack/compute", form=form, web=index)
        if status == 200:
            return status, body["data"]["stack_name"]
        assert body.get("status") == status, body  # an error, in the envelope
        return status, ""

    def delete(self, index: int, name: str) -> int:
        path = f"/openstack/delete_instances?project_name=devel&stack_name={name}"
        return self.api("DELETE", path, web=index)[0]

    # --- checks ------------------------------------------------------------------------------

    def states(self, names) -> Counter:
        with psycopg2.connect(self.env["DATABASE_URL"]) as conn, conn.cursor() as cursor:
            cursor.execute(
                "SELECT state, count(*) FROM compute_stack WHERE name = ANY(%s) GROUP BY state",
                (list(names),),
            )
            return Counter(dict(cursor.fetchall()))

    def wait_states(self, names, state: str, timeout: float) -> float:
        started = time.monotonic()
        wait_until(lambda: self.states(names)[state] == len(names), timeout,
                   f"{len(names)} stacks {state}", lambda: dict(self.states(names)))  # fmt: skip
        return time.monotonic() - started

    def servers_by_stack(self) -> Counter:
        servers = self.sim.state()["projects"]["devel"]["servers"]
        return Counter(s["metadata"].get("ipaas_stack", "") for s in servers)

    def server_creates(self) -> int:
        routes = self.sim.calls()["by_route"]
        return sum(n for route, n in routes.items() if route.startswith("POST ")
                   and route.endswith("/servers"))  # fmt: skip

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        say(f"  [{'ok' if ok else 'FAILED'}] {what}" + (f": {detail}" if detail else ""))
        if not ok:
            raise SystemExit(f"Check failed: {what} {detail}")

    def cycle_end_checks(self, names, created_before: int) -> None:
        per_stack = self.servers_by_stack()
        extra = {n: per_stack[n] for n in names if per_stack[n] != 1}
        self.check("each stack has exactly its 1 server in the cloud", not extra, str(extra))
        creates = self.server_creates() - created_before
        self.check("one server create call per stack", creates == len(names),
                   f"{creates} calls for {len(names)} stacks")  # fmt: skip

    def delete_all(self, names) -> float:
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda p: self.delete(*p), enumerate(names)))
        self.check("every delete answered 200", set(answers) == {200}, str(Counter(answers)))
        took = self.wait_states(names, "DELETED", 300)
        left = sum(self.servers_by_stack()[n] for n in names)
        self.check("every stack DELETED and no server left in the cloud", left == 0, str(left))
        return took

    # --- scenarios ---------------------------------------------------------------------------

    def two_webs_two_workers(self) -> None:
        count = self.args.stacks
        say(f"\n1. {count} stacks created and deleted concurrently through 2 web nodes")
        before = self.server_creates()
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            answers = list(pool.map(self.create, range(count)))
        submit = time.monotonic() - started
        names = [name for status, name in answers if status == 200]
        self.check(
            "every create answered 200", len(names) == count, str(Counter(s for s, _ in answers))
        )
        active = self.wait_states(names, "ACTIVE", 300)
        self.cycle_end_checks(names, before)
        deleted = self.delete_all(names)
        self.figures.append(
            (f"{count} creates, 2 web + 2 workers",
             f"submitted in {submit:.1f} s, all ACTIVE {active:.1f} s later, "
             f"all DELETED {deleted:.1f} s after the deletes"),
        )  # fmt: skip

    def worker_sigterm(self) -> None:
        count = 10
        say(f"\n2. SIGTERM to a worker while {count} stacks are being built")
        before = self.server_creates()
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            names = [n for s, n in pool.map(self.create, range(count)) if s == 200]
        worker = self.processes["worker1"]
        # To the main process only, as Kubernetes does (systemd: KillMode=mixed): it stops its
        # pool once the running tasks end. A signal to the whole group kills the pool's
        # children mid-task; their messages are then rejected back to the queue.
        os.kill(worker.pid, signal.SIGTERM)
        stopped = time.monotonic()
        building = self.states(names)["CREATING"]
        worker.wait(timeout=60)
        took = time.monotonic() - stopped
        say(f"  worker1 stopped {took:.1f} s after SIGTERM (exit {worker.returncode}), "
            f"{building} stacks building then; starting another")  # fmt: skip
        self.start_worker("worker1b")
        active = self.wait_states(names, "ACTIVE", 300)
        self.cycle_end_checks(names, before)
        self.delete_all(names)
        self.figures.append(
            ("10 creates, SIGTERM to a worker",
             f"{building} building at SIGTERM; all ACTIVE {active:.1f} s after the restart"),
        )  # fmt: skip

    def broker_restart(self) -> None:
        count = self.args.burst
        say(f"\n3. A burst of {count} creates while RabbitMQ's application restarts")
        say("  NOTE: this stops the RabbitMQ application of this machine, shared with other "
            "test runs, for a few seconds (rabbitmqctl stop_app; start_app).")  # fmt: skip
        before = self.server_creates()
        answers: dict[int, tuple[int, str]] = {}

        def submit(index: int):
            answers[index] = self.create(index)

        down_at = count // 3
        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            futures = [pool.submit(submit, i) for i in range(down_at)]
            concurrent.futures.wait(futures)
            subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True)  # noqa: S607
            stopped = time.monotonic()
            say("  RabbitMQ application stopped")
            futures = [pool.submit(submit, i) for i in range(down_at, 2 * down_at)]
            concurrent.futures.wait(futures)
            time.sleep(max(0.0, 3.0 - (time.monotonic() - stopped)))
            subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True)  # noqa: S607
            outage = time.monotonic() - stopped
            say(f"  RabbitMQ application started again after {outage:.1f} s")
            futures = [pool.submit(submit, i) for i in range(2 * down_at, count)]
            concurrent.futures.wait(futures)

        statuses = Counter(status for status, _ in answers.values())
        during = Counter(answers[i][0] for i in range(down_at, 2 * down_at))
        self.check("every create answered 200 or 503 in the envelope",
                   set(statuses) <= {200, 503}, str(statuses))  # fmt: skip
        say(f"  answers while the broker was down: {dict(during)}")
        names = [name for status, name in answers.values() if status == 200]
        active = self.wait_states(names, "ACTIVE", 600)
        self.cycle_end_checks(names, before)
        deleted = self.delete_all(names)
        self.figures.append(
            (f"{count} creates, RabbitMQ down {outage:.1f} s",
             f"{statuses[200]} accepted ({during[200]} while down), {statuses[503]} answered "
             f"503; all ACTIVE {active:.1f} s after the burst, none lost or made twice; "
             f"deleted in {deleted:.1f} s"),
        )  # fmt: skip


def admin_sql(statement: str) -> None:
    """A statement that cannot run in a transaction: CREATE and DROP DATABASE."""
    admin = psycopg2.connect(ADMIN_DSN)
    try:
        admin.autocommit = True
        admin.cursor().execute(statement)
    finally:
        admin.close()


def wait_until(predicate, timeout: float, what: str, progress=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"Timed out after {timeout:.0f} s waiting for {what}"
                     + (f": {progress()}" if progress else ""))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", type=int, default=20)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--no-broker-restart", action="store_true")
    args = parser.parse_args()

    run = Run(args)
    started = time.monotonic()
    try:
        run.set_up()
        run.two_webs_two_workers()
        run.worker_sigterm()
        if not args.no_broker_restart:
            run.broker_restart()
        run.logs_checks()
    finally:
        run.tear_down()
    say("\nFigures (2 shared cores; cloudsim boots a server in 1 s):")
    for what, figure in run.figures:
        say(f"  {what}: {figure}")
    say(f"Total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
