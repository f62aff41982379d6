"""A small client for the control API under /_sim/, for tests and scripts.

ctl = SimControl("http://127.0.0.1:8774")
ctl.fail_next(service="compute", method="POST", path="/servers$", action="503")
ctl.set_quota("devel", instances=2)
assert not ctl.state()["projects"]["devel"]["servers"]
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class SimControlError(Exception):
    """The control API refused a request."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__("cloudsim control API answered %d: %s" % (status, body))
        self.status = status
        self.body = body


class SimControl:
    """Calls the control API of the cloudsim at `base_url` (no token needed)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("cloudsim's base URL must be http(s): %s" % self.base_url)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            self.base_url + "/_sim" + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail = json.loads(raw)
            except ValueError:
                detail = raw.decode(errors="replace")
            raise SimControlError(exc.code, detail) from None
        return json.loads(raw) if raw else None

    # -- state

    def health(self) -> dict:
        return self._call("GET", "/health")

    def reset(self) -> None:
        """Back to the preset: servers, ports, floating IPs, quotas, timings, faults, counts."""
        self._call("POST", "/reset")

    def state(self) -> dict:
        """Every project's servers, ports and floating IPs, keyed by project name."""
        return self._call("GET", "/state")

    def save(self) -> dict:
        """Write the state file now (only when cloudsim runs with one)."""
        return self._call("POST", "/save")

    def config(self, **settings: float | None) -> dict:
        """Read, or change, boot_time, delete_time, reboot_time and token_ttl (seconds)."""
        if settings:
            return self._call("PUT", "/config", settings)
        return self._call("GET", "/config")

    # -- call counts

    def calls(self) -> dict:
        """Call counts: {"total", "by_service", "by_route"}.

        Routes read like "GET /compute/v2.1/servers/{id}" (ids replaced by {id}).
        """
        return self._call("GET", "/calls")

    def clear_calls(self) -> None:
        self._call("DELETE", "/calls")

    # -- faults

    def faults(self) -> dict:
        return self._call("GET", "/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def add_latency(
        self,
        seconds: float | None = None,
        *,
        min: float | None = None,
        max: float | None = None,
        service: str = "",
        method: str = "",
        path: str = "",
        count: int | None = None,
    ) -> int:
        """Delay matching calls by `seconds`, or a random time between `min` and `max`."""
        body: dict[str, Any] = {"service": service, "method": method, "path": path}
        if seconds is not None:
            body["seconds"] = seconds
        else:
            body["min"], body["max"] = min, max
        if count is not None:
            body["count"] = count
        return self._call("POST", "/faults/latency", body)["id"]

    def fail_next(
        self,
        service: str = "",
        *,
        method: str = "",
        path: str = "",
        action: str = "500",
        count: int | None = 1,
    ) -> int:
        """Make the next `count` matching calls fail: "500", "503" or "drop" the connection.

        `path` is a regular expression searched in the request path; `count=None` keeps the
        rule until the faults are cleared.
        """
        body = {
            "service": service,
            "method": method,
            "path": path,
            "action": str(action),
            "count": count,
        }
        return self._call("POST", "/faults/failures", body)["id"]

    def fail_boots(
        self,
        *,
        count: int | None = None,
        probability: float | None = None,
        message: str | None = None,
    ) -> dict:
        """Make the next `count` new servers, or each with `probability`, end in ERROR."""
        body: dict[str, Any] = {}
        if count is not None:
            body["fail_next"] = count
        if probability is not None:
            body["fail_probability"] = probability
        if message is not None:
            body["message"] = message
        return self._call("POST", "/faults/boots", body)

    def slow_boots(self, boot_time: float, count: int = 1) -> dict:
        """Make the next `count` new servers take `boot_time` seconds to boot."""
        return self._call("POST", "/faults/boots", {"boot_time": boot_time, "slow_next": count})

    # -- quotas and servers

    def quota(self, project: str) -> dict:
        return self._call("GET", "/quotas/" + project)

    def set_quota(self, project: str, **limits: int) -> dict:
        """Change a project's quotas.

        Keys: instances, cores, ram, floating_ips, ports, metadata_items.
        """
        return self._call("PUT", "/quotas/" + project, limits)

    def seed_servers(self, project: str = "devel", count: int = 1, **options: Any) -> list[str]:
        """Create servers directly (no quota, no API), ACTIVE unless `status` says otherwise.

        Options: name, flavor, image, network ("none" for no port), status (ACTIVE,
        SHUTOFF, ERROR, BUILD), metadata, tags, message (the fault of ERROR servers).
        """
        body = dict(options, project=project, count=count)
        return self._call("POST", "/servers", body)["ids"]

    def server_stop(self, server_id: str) -> None:
        """Stop a server behind the API's back (as if it were shut down from inside)."""
        self._call("POST", "/servers/%s/stop" % server_id)

    def server_start(self, server_id: str) -> None:
        self._call("POST", "/servers/%s/start" % server_id)

    def server_error(self, server_id: str, message: str = "Simulated failure") -> None:
        """Put a server in ERROR with a fault, behind the API's back."""
        self._call("POST", "/servers/%s/error" % server_id, {"message": message})

    def server_delete(self, server_id: str) -> None:
        """Remove a server at once, with its ports, behind the API's back."""
        self._call("POST", "/servers/%s/delete" % server_id)

    def revoke_tokens(self) -> int:
        """Invalidate every token; clients get 401 and must authenticate again."""
        return self._call("POST", "/tokens/revoke")["revoked"]
