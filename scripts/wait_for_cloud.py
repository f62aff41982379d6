"""Wait until the local cloud answers, then become the given command.

`make run` starts cloudsim beside the portal's processes: this keeps the web server and the
worker from making their first cloud calls before cloudsim listens and has written the
clouds.yaml that openstacksdk reads. Usage:

    python scripts/wait_for_cloud.py [--port 8774] [--timeout 30] -- celery -A portal worker
"""

import argparse
import os
import socket
import sys
import time
from pathlib import Path

import yaml


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="cloudsim's address")
    parser.add_argument("--port", type=int, default=8774, help="cloudsim's port")
    parser.add_argument(
        "--clouds-yaml",
        default=os.environ.get("OS_CLIENT_CONFIG_FILE", "var/clouds.yaml"),
        help="the clouds.yaml cloudsim writes (default: $OS_CLIENT_CONFIG_FILE)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait at most")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="what to run once ready")
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("name a command to run after '--'")
    return args


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def clouds_yaml_ready(path: Path) -> bool:
    # cloudsim writes the file just after it starts listening: a file that does not parse
    # yet is one being written.
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(config, dict) and isinstance(config.get("clouds"), dict)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    clouds_yaml = Path(args.clouds_yaml)

    deadline = time.monotonic() + args.timeout
    while not (port_open(args.host, args.port) and clouds_yaml_ready(clouds_yaml)):
        if time.monotonic() > deadline:
            # Start anyway: the portal retries cloud errors, and the web pages that need no
            # cloud are still worth having.
            print(
                f"wait_for_cloud: no cloud on {args.host}:{args.port} with {clouds_yaml} "
                f"after {args.timeout:.0f} s; starting without it",
                file=sys.stderr,
                flush=True,
            )
            break
        time.sleep(0.2)

    # Replace this process, so that signals from the process manager reach the command.
    os.execvp(args.command[0], args.command)  # noqa: S606 - our own Procfile's command


if __name__ == "__main__":
    main(sys.argv[1:])
