"""How fast cloudsim lists servers: a detailed list of 1,000 out of 10,000.

Starts cloudsim in this process, seeds 10,000 servers through the control API, times some
real creates through openstacksdk, then times `GET /servers/detail?limit=1000` through raw
HTTP and through openstacksdk, each beside a trivial baseline measured in the same run
(interleaved, so a slow moment of the machine hits both alike).

    .venv/bin/python bench/cloudsim_list.py [--servers 10000] [--rounds 30]

Client and server share one process and so one interpreter lock: the figures are an upper
bound of what a separate client would see. Nearly all of the SDK's time is its own: it
builds a `Server` resource per item in Python, after one HTTP request.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openstack
import requests

from cloudsim.server import start

PAGE = 1000


def summary(samples: list[float]) -> tuple[float, float]:
    """Median and 99th percentile, in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30, help="rounds of raw HTTP timings")
    parser.add_argument("--sdk-rounds", type=int, default=8, help="rounds through the SDK")
    parser.add_argument("--creates", type=int, default=50)
    args = parser.parse_args()

    sim = start(boot_time=0, delete_time=0)
    workdir = tempfile.mkdtemp(prefix="cloudsim-bench-")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(sim.write_clouds_yaml(Path(workdir) / "c.yaml"))
    try:
        return run(sim, args)
    finally:
        sim.stop()


def run(sim, args) -> int:
    ctl = sim.control
    started = time.perf_counter()
    for _ in range(args.servers // 1000):
        ctl.seed_servers("devel", count=1000, name="bench")
    ctl.seed_servers("devel", count=args.servers % 1000, name="bench-rest")
    seed_s = time.perf_counter() - started
    print("seeded %d servers through the control API in %.2f s" % (args.servers, seed_s))

    conn = openstack.connect(cloud="cloudsim-devel")
    ctl.set_quota("devel", instances=args.servers + args.creates, cores=10**6, ram=10**9)
    image = conn.image.find_image("cirros", ignore_missing=False)
    creates = [
        timed(
            lambda: conn.compute.create_server(
                name="api", image_id=image.id, flavor_id="1", networks="auto"
            )
        )
        for _ in range(args.creates)
    ]
    median, p99 = summary(creates)
    print(
        "%d creates through openstacksdk: median %.1f ms, p99 %.1f ms"
        % (args.creates, median, p99)
    )

    token = conn.session.get_token()
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.96"}
    http = requests.Session()
    list_url = sim.url + "/compute/v2.1/servers/detail"

    def raw_list():
        response = http.get(list_url, params={"limit": PAGE}, headers=headers, timeout=30)
        assert len(response.json()["servers"]) == PAGE

    def raw_baseline():
        http.get(sim.url + "/compute/v2.1/", timeout=30).json()

    def sdk_list():
        servers = list(itertools.islice(conn.compute.servers(details=True, limit=PAGE), PAGE))
        assert len(servers) == PAGE

    def sdk_baseline():
        conn.compute.get_flavor("1")

    for warm in (raw_list, raw_baseline, sdk_list, sdk_baseline):
        warm()
    results = {name: [] for name in ("raw_list", "raw_base", "sdk_list", "sdk_base")}
    for round_no in range(max(args.rounds, args.sdk_rounds)):
        if round_no < args.rounds:
            results["raw_list"].append(timed(raw_list))
            results["raw_base"].append(timed(raw_baseline))
        if round_no < args.sdk_rounds:
            results["sdk_list"].append(timed(sdk_list))
            results["sdk_base"].append(timed(sdk_baseline))

    print()
    print(
        "detailed list of %d of %d servers, %d raw and %d SDK rounds"
        % (PAGE, args.servers, args.rounds, args.sdk_rounds)
    )
    print("%-44s %10s %10s %8s" % ("", "median ms", "p99 ms", "ratio"))
    rows = (
        ("raw HTTP GET /servers/detail?limit=1000", "raw_list", "raw_base"),
        ("raw HTTP baseline: GET /compute/v2.1/", "raw_base", "raw_base"),
        ("openstacksdk servers(details=True) x1000", "sdk_list", "sdk_base"),
        ("openstacksdk baseline: get_flavor('1')", "sdk_base", "sdk_base"),
    )
    for label, key, base in rows:
        median, p99 = summary(results[key])
        ratio = median / summary(results[base])[0]
        print("%-44s %10.1f %10.1f %7.1fx" % (label, median, p99, ratio))
    return 0


if __name__ == "__main__":
    sys.exit(main())
