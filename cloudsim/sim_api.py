"""The control API under /_sim/: inject faults, change timings and quotas, seed and
break servers out of band, read the whole state and the call counts, reset.

It needs no token and speaks plain JSON; `cloudsim.control.SimControl` wraps it.
"""

from __future__ import annotations

import dataclasses
import json
import math

from werkzeug.routing import Rule

from cloudsim.app import Ctx, Endpoint, Reply
from cloudsim.compute import server_addresses, server_status
from cloudsim.faults import Match
from cloudsim.state import SimError, SimState, iso

# Control API names for quota keys, mapped to (service, the service's own key).
QUOTA_KEYS = {
    "instances": ("compute", "instances"),
    "cores": ("compute", "cores"),
    "ram": ("compute", "ram"),
    "metadata_items": ("compute", "metadata_items"),
    "floating_ips": ("network", "floatingip"),
    "floatingip": ("network", "floatingip"),
    "ports": ("network", "port"),
    "port": ("network", "port"),
}

# The statuses a seeded server can start in (BUILD boots it as the API would).
SEED_STATUSES = ("ACTIVE", "SHUTOFF", "ERROR", "BUILD")


def _project(state: SimState, ref: str) -> dict:
    project = state.project_by_ref(ref)
    if project is None:
        raise SimError(404, "No project %s." % ref)
    return project


def _server(state: SimState, server_id: str) -> dict:
    server = state.servers.get(server_id)
    if server is None:
        raise SimError(404, "No server %s." % server_id)
    return server


def index(ctx: Ctx) -> Reply:
    """GET /: where each service lives, for a person poking at the server with curl."""
    services = {
        "identity": ctx.base + "/identity/v3",
        "compute": ctx.base + "/compute/v2.1",
        "image": ctx.base + "/image",
        "network": ctx.base + "/network",
        "control": ctx.base + "/_sim/",
    }
    return Reply(200, {"cloudsim": True, "services": services})


def health(ctx: Ctx) -> Reply:
    return Reply(200, {"ok": True, "servers": len(ctx.state.servers)})


def reset(ctx: Ctx) -> Reply:
    """Back to the preset: state, timings, faults and call counts."""
    state = ctx.state
    state.reset()
    state.settings = dataclasses.replace(state.initial_settings)
    ctx.faults.clear()
    ctx.faults.calls_clear()
    return Reply(200, {"ok": True})


def _server_summary(state: SimState, server: dict) -> dict:
    return {
        "id": server["id"],
        "name": server["name"],
        "status": server_status(server),
        "vm_state": server["vm_state"],
        "task_state": server["task_state"],
        "user_id": server["user_id"],
        "flavor": server["flavor"]["name"],
        "image_id": server["image_id"],
        "metadata": dict(server["metadata"]),
        "tags": list(server["tags"]),
        "created": iso(server["created"]),
        "addresses": server_addresses(state, server),
        "ports": list(state.ports_by_device.get(server["id"], [])),
        "fault": server["fault"]["message"] if server["fault"] else None,
    }


def state_show(ctx: Ctx) -> Reply:
    """Every project's servers, ports and floating IPs, with quotas and usage."""
    state = ctx.state
    projects = {}
    for project in state.projects.values():
        projects[project["name"]] = {
            "id": project["id"],
            "servers": [],
            "ports": [],
            "floating_ips": [],
            "quota": {
                "compute": state.compute_quota(project["id"]),
                "network": state.network_quota(project["id"]),
            },
            "usage": state.compute_usage(project["id"]),
        }
    by_id = {p["id"]: projects[p["name"]] for p in state.projects.values()}
    orphans = {"servers": [], "ports": [], "floating_ips": []}

    for server in state.servers.values():
        by_id.get(server["project_id"], orphans)["servers"].append(_server_summary(state, server))
    for port in state.ports.values():
        by_id.get(port["project_id"], orphans)["ports"].append(
            {
                "id": port["id"],
                "network_id": port["network_id"],
                "device_id": port["device_id"],
                "device_owner": port["device_owner"],
                "fixed_ips": [f["ip_address"] for f in port["fixed_ips"]],
                "status": port["status"],
            }
        )
    for fip in state.floating_ips.values():
        by_id.get(fip["project_id"], orphans)["floating_ips"].append(
            {
                "id": fip["id"],
                "floating_ip_address": fip["floating_ip_address"],
                "port_id": fip["port_id"],
                "fixed_ip_address": fip["fixed_ip_address"],
                "description": fip["description"],
                "status": fip["status"],
            }
        )
    body = {
        "projects": projects,
        "orphans": orphans,
        "totals": {
            "servers": len(state.servers),
            "ports": len(state.ports),
            "floating_ips": len(state.floating_ips),
            "tokens": len(state.tokens),
        },
        "settings": dataclasses.asdict(state.settings),
    }
    return Reply(200, body)


def calls_show(ctx: Ctx) -> Reply:
    return Reply(200, ctx.faults.calls())


def calls_clear(ctx: Ctx) -> Reply:
    ctx.faults.calls_clear()
    return Reply(204)


def faults_show(ctx: Ctx) -> Reply:
    return Reply(200, ctx.faults.describe())


def faults_clear(ctx: Ctx) -> Reply:
    ctx.faults.clear()
    return Reply(204)


def _json_text(value) -> str:
    """A value as the caller wrote it, for error messages."""
    return json.dumps(value) if not isinstance(value, str) else repr(value)


def _number(value, name: str, *, minimum: float = 0.0) -> float:
    """A finite number of at least `minimum`, or a 400 that names the field: a bad value
    must never be stored, where it would break every later call it applies to."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SimError(400, "%s must be a number, not %s." % (name, _json_text(value)))
    try:
        number = float(value)
    except ValueError:
        raise SimError(400, "%s must be a number, not %s." % (name, _json_text(value))) from None
    if not math.isfinite(number) or number < minimum:
        raise SimError(400, "%s must be a number of at least %g." % (name, minimum))
    return number


def _integer(value, name: str, *, minimum: int) -> int:
    """A whole number of at least `minimum` (JSON 2, 2.0 or "2"), or a 400 naming the field."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SimError(400, "%s must be an integer, not %s." % (name, _json_text(value)))
    try:
        number = int(value)
    except ValueError:
        raise SimError(400, "%s must be an integer, not %s." % (name, _json_text(value))) from None
    if number < minimum:
        raise SimError(400, "%s must be an integer of at least %d." % (name, minimum))
    return number


def _count(data: dict, default: int | None) -> int | None:
    """A rule's `count`: a positive integer, or null for "until the faults are cleared"."""
    value = data.get("count", default)
    return None if value is None else _integer(value, "count", minimum=1)


def _match(data: dict) -> Match:
    try:
        return Match(
            service=data.get("service", ""),
            method=data.get("method", ""),
            path=data.get("path", ""),
        )
    except Exception as exc:
        raise SimError(400, "Bad match: %s" % exc) from exc


def latency_add(ctx: Ctx) -> Reply:
    """{"seconds": S} or {"min": A, "max": B}, with optional service/method/path/count."""
    data = ctx.body()
    if "seconds" in data:
        low = high = _number(data["seconds"], "seconds")
    elif "min" in data:
        low = _number(data["min"], "min")
        high = low if data.get("max") is None else _number(data["max"], "max")
    else:
        raise SimError(400, "Give 'seconds', or 'min' and 'max'.")
    if high < low:
        raise SimError(400, "Latency needs 0 <= min <= max.")
    rule = ctx.faults.add_latency(_match(data), low, high, _count(data, None))
    return Reply(201, {"id": rule.id})


def failure_add(ctx: Ctx) -> Reply:
    """{"action": "500"|"503"|"drop", "count": N}, with optional service/method/path."""
    data = ctx.body()
    action = str(data.get("action", data.get("status", "500")))
    count = _count(data, 1)
    try:
        rule = ctx.faults.add_failure(_match(data), action, count)
    except ValueError as exc:
        raise SimError(400, str(exc)) from exc
    return Reply(201, {"id": rule.id})


def boots_set(ctx: Ctx) -> Reply:
    """Make boots fail (probability, next N) or slow (next N take boot_time seconds)."""
    data = ctx.body()
    # Every value is checked before the plan changes, so a 400 leaves it as it was.
    changes: dict = {}
    if "fail_probability" in data:
        probability = _number(data["fail_probability"], "fail_probability")
        if probability > 1:
            raise SimError(400, "fail_probability must be between 0 and 1.")
        changes["fail_probability"] = probability
    if "fail_next" in data:
        changes["fail_next"] = _integer(data["fail_next"], "fail_next", minimum=0)
    if "message" in data:
        if data["message"] is not None and not isinstance(data["message"], str):
            raise SimError(400, "message must be a string.")
        changes["fail_message"] = data["message"]
    slow = None
    if "slow_next" in data:
        if "boot_time" not in data:
            raise SimError(400, "slow_next needs boot_time, the seconds those boots take.")
        slow = [
            _number(data["boot_time"], "boot_time"),
            _integer(data["slow_next"], "slow_next", minimum=1),
        ]
    with ctx.faults.lock:
        plan = ctx.faults.boots
        for key, value in changes.items():
            setattr(plan, key, value)
        if slow is not None:
            plan.slow.append(slow)
        return Reply(200, dataclasses.asdict(plan))


def config_show(ctx: Ctx) -> Reply:
    return Reply(200, dataclasses.asdict(ctx.state.settings))


def config_update(ctx: Ctx) -> Reply:
    """Change boot_time, delete_time, reboot_time or token_ttl (seconds)."""
    settings = ctx.state.settings
    known = [f.name for f in dataclasses.fields(settings)]
    changes = {}
    for key, value in ctx.body().items():
        if key not in known:
            raise SimError(400, "Unknown setting %s; known: %s." % (key, ", ".join(known)))
        changes[key] = None if value is None else _number(value, key)
    for key, value in changes.items():
        setattr(settings, key, value)
    return config_show(ctx)


def quota_show(ctx: Ctx, project: str) -> Reply:
    state = ctx.state
    project_id = _project(state, project)["id"]
    return Reply(
        200,
        {
            "compute": state.compute_quota(project_id),
            "network": state.network_quota(project_id),
            "usage": state.compute_usage(project_id),
        },
    )


def quota_update(ctx: Ctx, project: str) -> Reply:
    """Shrink (or grow) a project's quotas: instances, cores, ram, floating_ips, ports."""
    state = ctx.state
    project_id = _project(state, project)["id"]
    changes = {}
    for key, value in ctx.body().items():
        if key not in QUOTA_KEYS:
            raise SimError(400, "Unknown quota %s; known: %s." % (key, ", ".join(QUOTA_KEYS)))
        # -1 is OpenStack's "unlimited".
        changes[key] = _integer(value, key, minimum=-1)
    for key, value in changes.items():
        service, name = QUOTA_KEYS[key]
        overrides = state.compute_quotas if service == "compute" else state.network_quotas
        overrides.setdefault(project_id, {})[name] = value
    return quota_show(ctx, project)


def servers_seed(ctx: Ctx) -> Reply:
    """Create servers directly, past quotas and the API: for big states and set-ups."""
    state = ctx.state
    data = ctx.body()
    for key in ("project", "name", "message"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise SimError(400, "%s must be a string." % key)
    if data.get("metadata") is not None and not isinstance(data["metadata"], dict):
        raise SimError(400, "metadata must be an object of strings.")
    if data.get("tags") is not None and not isinstance(data["tags"], list):
        raise SimError(400, "tags must be a list of strings.")
    status = data.get("status", "ACTIVE")
    if status not in SEED_STATUSES:
        raise SimError(400, "status must be one of %s." % ", ".join(SEED_STATUSES))
    project = _project(state, data.get("project", "devel"))
    user = state.first_member(project["id"])
    count = _integer(data.get("count", 1), "count", minimum=1)
    flavor = next(
        (
            f
            for f in state.flavors.values()
            if data.get("flavor", "m1.tiny") in (f["id"], f["name"])
        ),
        None,
    )
    image = next(
        (i for i in state.images.values() if data.get("image", "cirros") in (i["id"], i["name"])),
        None,
    )
    if flavor is None or image is None:
        raise SimError(400, "Unknown flavor or image.")
    network = data.get("network", "private")
    if network == "none":
        networks = []
    else:
        found = [n["id"] for n in state.networks.values() if network in (n["id"], n["name"])]
        if not found:
            raise SimError(400, "Unknown network %s." % network)
        networks = found[:1]
    name = data.get("name", "seed")
    ids = []
    for index in range(count):
        server = state.server_create(
            project_id=project["id"],
            user_id=user["id"] if user else "",
            name=name if count == 1 else "%s-%d" % (name, index + 1),
            flavor=flavor,
            image_id=image["id"],
            networks=networks,
            metadata=data.get("metadata"),
            tags=data.get("tags"),
            status=status,
            fault_message=data.get("message"),
        )
        ids.append(server["id"])
    return Reply(201, {"ids": ids})


def server_oob(ctx: Ctx, server_id: str, action: str) -> Reply:
    """Change a server behind the API's back: stop, start, error or delete (at once)."""
    state = ctx.state
    server = _server(state, server_id)
    now = state.clock()
    if action == "delete":
        state.server_purge(server_id)
    elif action == "stop":
        server.update(vm_state="stopped", power_state=4, task_state=None, updated=now)
    elif action == "start":
        server.update(vm_state="active", power_state=1, task_state=None, updated=now)
    elif action == "error":
        message = ctx.body().get("message") if ctx.request.content_length else None
        server.update(vm_state="error", power_state=0, task_state=None, updated=now)
        server["fault"] = {"code": 500, "created": now, "message": message or "Simulated failure"}
    else:
        raise SimError(404, "No out-of-band action %s; use stop, start, error or delete." % action)
    return Reply(200, {"ok": True})


def tokens_revoke(ctx: Ctx) -> Reply:
    """Forget every token, as if Keystone's keys were rotated: clients must log in again."""
    count = len(ctx.state.tokens)
    ctx.state.tokens.clear()
    return Reply(200, {"revoked": count})


def save(ctx: Ctx) -> Reply:
    path = getattr(ctx.state, "state_file", None)
    if not path:
        raise SimError(400, "cloudsim was started without --state.")
    ctx.state.save(path)
    return Reply(200, {"saved": str(path)})


def routes(state: SimState) -> list[Rule]:
    """The URL rules of the control API."""

    def ep(handler) -> Endpoint:
        return Endpoint("_sim", handler, public=True)

    return [
        Rule("/", endpoint=Endpoint("root", index, public=True), methods=["GET"]),
        Rule("/_sim/health", endpoint=ep(health), methods=["GET"]),
        Rule("/_sim/reset", endpoint=ep(reset), methods=["POST"]),
        Rule("/_sim/state", endpoint=ep(state_show), methods=["GET"]),
        Rule("/_sim/save", endpoint=ep(save), methods=["POST"]),
        Rule("/_sim/calls", endpoint=ep(calls_show), methods=["GET"]),
        Rule("/_sim/calls", endpoint=ep(calls_clear), methods=["DELETE"]),
        Rule("/_sim/faults", endpoint=ep(faults_show), methods=["GET"]),
        Rule("/_sim/faults", endpoint=ep(faults_clear), methods=["DELETE"]),
        Rule("/_sim/faults/latency", endpoint=ep(latency_add), methods=["POST"]),
        Rule("/_sim/faults/failures", endpoint=ep(failure_add), methods=["POST"]),
        Rule("/_sim/faults/boots", endpoint=ep(boots_set), methods=["POST"]),
        Rule("/_sim/config", endpoint=ep(config_show), methods=["GET"]),
        Rule("/_sim/config", endpoint=ep(config_update), methods=["PUT", "POST"]),
        Rule("/_sim/quotas/<project>", endpoint=ep(quota_show), methods=["GET"]),
        Rule("/_sim/quotas/<project>", endpoint=ep(quota_update), methods=["PUT", "POST"]),
        Rule("/_sim/servers", endpoint=ep(servers_seed), methods=["POST"]),
        Rule("/_sim/servers/<server_id>/<action>", endpoint=ep(server_oob), methods=["POST"]),
        Rule("/_sim/tokens/revoke", endpoint=ep(tokens_revoke), methods=["POST"]),
    ]
