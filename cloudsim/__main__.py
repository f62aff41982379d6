"""Command line: `python -m cloudsim --port 8774 --clouds-yaml var/clouds.yaml`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading

from cloudsim.server import start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m cloudsim", description="Serve a simulated OpenStack cloud."
    )
    parser.add_argument("--port", type=int, default=8774, help="TCP port (0: any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--preset", help="preset YAML (default: the packaged default.yaml)")
    parser.add_argument("--state", help="JSON file that keeps the state across restarts")
    parser.add_argument("--clouds-yaml", help="write a ready clouds.yaml here")
    parser.add_argument("--boot-time", type=float, default=2.0, help="seconds in BUILD")
    parser.add_argument("--delete-time", type=float, default=1.0, help="seconds to delete")
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime, s")
    parser.add_argument("--seed", type=int, help="random seed for injected faults")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sim = start(
        port=args.port,
        host=args.host,
        preset=args.preset,
        state_file=args.state,
        boot_time=args.boot_time,
        delete_time=args.delete_time,
        token_ttl=args.token_ttl,
        seed=args.seed,
    )
    if args.clouds_yaml:
        path = sim.write_clouds_yaml(args.clouds_yaml)
        print("cloudsim: clouds.yaml written to %s" % path, flush=True)
    print("cloudsim: serving on %s (auth URL %s)" % (sim.url, sim.auth_url), flush=True)

    # SIGTERM (from `make` or a supervisor) stops as cleanly as Ctrl-C, saving the state.
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    sim.stop()
    print("cloudsim: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
