"""How long a month's usage and a closed statement take for a big project.

Makes a PostgreSQL database of its own with one project of 1,000 instances and 100,000 state
changes in one month, with a price change mid-month, then times, interleaved in one run:

- the bare SQL aggregation: billable microseconds per instance from the state history with
  the same window function, without prices (the floor the service cannot beat);
- the month's usage through the service (`billing.services.month_usage`): spans cut at price
  changes, priced, one line per instance and price;
- serving a closed statement: its lines read back and written as CSV.

    .venv/bin/python bench/billing_usage.py [--instances 1000] [--events 100000] [--runs 15]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust); the database is dropped at the end.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
MONTH = date(2026, 10, 1)
STATES = ["ACTIVE", "ACTIVE", "ACTIVE", "SHUTOFF", "PAUSED", "ERROR"]

BARE_SQL = """
    WITH events AS (
        SELECT instance_id, state, at_us,
               LEAD(at_us) OVER (PARTITION BY instance_id ORDER BY at_us, id) AS next_us
        FROM billing_instanceevent WHERE project_id = %s AND at_us < %s
    )
    SELECT instance_id, SUM(LEAST(COALESCE(next_us, %s), %s) - GREATEST(at_us, %s))
    FROM events
    WHERE state IN ('ACTIVE', 'PAUSED', 'SUSPENDED', 'SHUTOFF')
      AND COALESCE(next_us, %s) > %s
    GROUP BY instance_id
"""


def admin_execute(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(**PG_ADMIN)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


def setup_django(database: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load(instances: int, events: int) -> object:
    """One project with the instances and their histories; returns the project."""
    from accounts.models import Tenant
    from billing.models import FlavorPrice, InstanceEvent, to_us
    from compute.models import Cloud, Instance, Project, Stack

    rng = random.Random(7)  # noqa: S311 - made-up histories, not secrets
    tenant = Tenant.objects.create(name="bench")
    project = Project.objects.create(
        tenant=tenant, cloud=Cloud.objects.create(name="bench"), name="big"
    )
    start = datetime(MONTH.year, MONTH.month, 1, tzinfo=UTC)
    for flavor in ("1", "2", "3"):
        FlavorPrice.objects.create(
            flavor_id=flavor,
            price_per_hour=Decimal("0.05") * int(flavor),
            currency="EUR",
            effective_from=datetime(2020, 1, 1, tzinfo=UTC),
        )
        FlavorPrice.objects.create(
            flavor_id=flavor,
            price_per_hour=Decimal("0.07") * int(flavor),
            currency="EUR",
            effective_from=start + timedelta(days=15),
        )
    stacks = Stack.objects.bulk_create(
        Stack(
            project=project,
            image_id="img",
            flavor_id=str(n % 3 + 1),
            instance_count=10,
            user_name="bench",
            name=f"stack_r-{n:08d}",
        )
        for n in range(instances // 10)
    )
    rows = Instance.objects.bulk_create(
        Instance(
            stack=stacks[n // 10],
            server_id=f"server-{n:06d}",
            name=f"vm-{n}",
            flavor_id=stacks[n // 10].flavor_id,
            image_id="img",
        )
        for n in range(instances)
    )
    per_instance = events // instances
    month_us = 31 * 86_400 * 1_000_000
    batch = []
    for instance in rows:
        moments = sorted(rng.randrange(month_us) for _ in range(per_instance))
        for index, offset in enumerate(moments):
            at = start + timedelta(microseconds=offset)
            state = "BUILD" if index == 0 else rng.choice(STATES)
            batch.append(
                InstanceEvent(
                    instance=instance,
                    project=project,
                    flavor_id=instance.flavor_id,
                    state=state,
                    at=at,
                    at_us=to_us(at),
                    key=f"{instance.server_id}:{index}",
                )
            )
        if len(batch) >= 20_000:
            InstanceEvent.objects.bulk_create(batch)
            batch = []
    InstanceEvent.objects.bulk_create(batch)
    return project


def timed(func, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        func()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    database = f"ipaas_bench_billing_{os.getpid()}"
    admin_execute(f"CREATE DATABASE {database}")
    try:
        setup_django(database)
        began = time.perf_counter()
        project = load(args.instances, args.events)
        print(
            f"loaded {args.instances:,} instances, {args.events:,} state changes "
            f"in {time.perf_counter() - began:.1f} s"
        )
        run(project, args.runs)
    finally:
        from django.db import connections

        connections.close_all()
        admin_execute(f"DROP DATABASE IF EXISTS {database}")


def run(project, runs: int) -> None:
    from django.db import connection

    from billing import services
    from billing.models import to_us

    start, end = services.month_bounds(MONTH)
    start_us, end_us = to_us(start), to_us(end)

    def bare():
        with connection.cursor() as cursor:
            cursor.execute(
                BARE_SQL, [project.pk, end_us, end_us, end_us, start_us, end_us, start_us]
            )
            return cursor.fetchall()

    def service():
        return services.month_usage(project=project, month=MONTH, now=end + timedelta(days=1))

    statement = services.statement_close(project=project, month=MONTH)

    def serve_statement():
        from billing.models import Statement

        fresh = Statement.objects.select_related("project__tenant").get(pk=statement.pk)
        return services.statement_csv(statement=fresh)

    bare(), service(), serve_statement()  # warm caches and connections
    samples = {"bare SQL aggregation": [], "usage through the service": [], "closed statement": []}
    for _ in range(runs):  # interleaved, so that the machine's noise hits all alike
        samples["bare SQL aggregation"] += timed(bare, 1)
        samples["usage through the service"] += timed(service, 1)
        samples["closed statement"] += timed(serve_statement, 1)

    baseline = statistics.median(samples["bare SQL aggregation"])
    print(f"{'':28} {'median ms':>10} {'p90 ms':>8} {'vs bare':>8}")
    for name, values in samples.items():
        values.sort()
        p90 = values[int(len(values) * 0.9) - 1]
        median = statistics.median(values)
        print(f"{name:28} {median:10.1f} {p90:8.1f} {median / baseline:7.2f}x")
    print(f"statement: {statement.lines.count():,} lines, total {statement.total} EUR")


if __name__ == "__main__":
    main()
