"""Start cloudsim: in this process on a background thread (`start`), or in the
foreground from the command line (`python -m cloudsim`, see `cloudsim.__main__`).

    sim = cloudsim.server.start(boot_time=0.2)
    sim.write_clouds_yaml("/tmp/clouds.yaml")   # entries cloudsim, cloudsim-<project>
    sim.control.fail_next("compute", path="/servers", action="503")
    sim.stop()
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import yaml
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from cloudsim.app import CloudApp
from cloudsim.control import SimControl
from cloudsim.faults import Faults
from cloudsim.state import Settings, SimState, load_preset

logger = logging.getLogger(__name__)


class QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler, with the access log at DEBUG instead of on stderr."""

    def log_request(self, code="-", size="-") -> None:
        logger.debug("%s %s %s", self.command, self.path.split("?", 1)[0], code)


class SimServer:
    """A running cloudsim: its URL, its state, a control client, and how to stop it."""

    def __init__(
        self,
        state: SimState,
        faults: Faults,
        httpd: BaseWSGIServer,
        *,
        state_file: str | os.PathLike | None = None,
        save_interval: float = 2.0,
    ) -> None:
        self.state = state
        self.faults = faults
        self.httpd = httpd
        self.host = httpd.host
        self.port = httpd.server_port
        self.url = "http://%s:%d" % (self.host, self.port)
        self.auth_url = self.url + "/identity/v3"
        self.control = SimControl(self.url)
        # The clouds.yaml last written by `write_clouds_yaml`, for `env()`.
        self.clouds_yaml: Path | None = None
        self.state_file = state_file
        self._save_interval = save_interval
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def _serve(self) -> None:
        thread = threading.Thread(target=self.httpd.serve_forever, name="cloudsim", daemon=True)
        thread.start()
        self._threads.append(thread)
        if self.state_file:
            saver = threading.Thread(target=self._save_loop, name="cloudsim-saver", daemon=True)
            saver.start()
            self._threads.append(saver)

    def _save_loop(self) -> None:
        saved = self.state.version
        while not self._stopping.wait(self._save_interval):
            if self.state.version != saved:
                saved = self.state.version
                self.save()

    def save(self) -> None:
        """Write the state file now (no-op without one)."""
        if self.state_file:
            self.state.save(self.state_file)

    def clouds_config(self) -> dict:
        """A clouds.yaml document: `cloudsim` (admin) and `cloudsim-<project>` entries."""
        state = self.state
        clouds = {}

        def entry(user: dict, project: dict) -> dict:
            return {
                "auth": {
                    "auth_url": self.auth_url,
                    "username": user["name"],
                    "password": user["password"],
                    "project_name": project["name"],
                    "user_domain_name": state.domains[user["domain_id"]]["name"],
                    "project_domain_name": state.domains[project["domain_id"]]["name"],
                },
                "region_name": state.region,
                "interface": "public",
                "identity_api_version": "3",
            }

        with state.lock:
            admin_project = state.project_by_ref("admin")
            admin_user = next((u for u in state.users.values() if u["name"] == "admin"), None)
            if admin_project and admin_user:
                clouds["cloudsim"] = entry(admin_user, admin_project)
            for project in state.projects.values():
                member = state.first_member(project["id"])
                if member is not None:
                    clouds["cloudsim-" + project["name"]] = entry(member, project)
        return {"clouds": clouds}

    def write_clouds_yaml(self, path: str | os.PathLike) -> Path:
        """Write clouds.yaml for this server and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.clouds_config(), sort_keys=False), encoding="utf-8")
        self.clouds_yaml = path
        return path

    def env(self, cloud: str = "cloudsim") -> dict[str, str]:
        """A copy of os.environ that points the `openstack` client at `cloud` here."""
        if self.clouds_yaml is None:
            raise RuntimeError("call write_clouds_yaml() first")
        env = dict(os.environ)
        env.update(OS_CLIENT_CONFIG_FILE=str(self.clouds_yaml), OS_CLOUD=cloud)
        return env

    def stop(self) -> None:
        """Stop serving, and save the state when there is a state file."""
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self.save()

    def __enter__(self) -> SimServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def build(
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    preset: str | os.PathLike | dict | None = None,
    state_file: str | os.PathLike | None = None,
    boot_time: float = 2.0,
    delete_time: float = 1.0,
    token_ttl: float = 3600.0,
    seed: int | None = None,
    save_interval: float = 2.0,
) -> SimServer:
    """Make a cloudsim bound to its port but not yet serving."""
    preset_data = preset if isinstance(preset, dict) else load_preset(preset)
    settings = Settings(boot_time=boot_time, delete_time=delete_time, token_ttl=token_ttl)
    state = SimState(preset_data, settings=settings)
    if state_file:
        state.state_file = os.fspath(state_file)
        if os.path.exists(state_file):
            state.load(state_file)
    faults = Faults(seed)
    httpd = make_server(
        host, port, CloudApp(state, faults), threaded=True, request_handler=QuietHandler
    )
    return SimServer(state, faults, httpd, state_file=state_file, save_interval=save_interval)


def start(**kwargs) -> SimServer:
    """Start cloudsim on a background thread and return its handle (see `build`).

    `port=0` picks a free port; the handle's `url` says which.
    """
    sim = build(**kwargs)
    sim._serve()
    logger.info("cloudsim serving on %s", sim.url)
    return sim
