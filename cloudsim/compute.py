"""Nova v2.1 under /compute: version discovery, flavors, servers (multi-create, filters,
pagination, actions, metadata, tags, interfaces), limits and quota sets.

Views follow the request's microversion where the SDK or the CLI reads the difference
(embedded flavor from 2.47, tags from 2.26, description from 2.19, and so on).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from urllib.parse import urlencode

from werkzeug.routing import Rule

from cloudsim.app import COMPUTE_MAX_VERSION, COMPUTE_MIN_VERSION, Ctx, Endpoint, Reply
from cloudsim.state import SimError, SimState, iso

MAX_LIMIT = 1000
_TRUE = ("1", "true", "yes", "on", "")
_QUOTA_KEYS = (
    "instances",
    "cores",
    "ram",
    "key_pairs",
    "metadata_items",
    "server_groups",
    "server_group_members",
)


def _version(ctx: Ctx) -> dict:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": "%d.%d" % COMPUTE_MAX_VERSION,
        "min_version": "%d.%d" % COMPUTE_MIN_VERSION,
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": ctx.base + "/compute/v2.1/"}],
        "media-types": [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2.1",
            }
        ],
    }


def versions(ctx: Ctx) -> Reply:
    """The compute root: every API version Nova serves."""
    return Reply(200, {"versions": [_version(ctx)]})


def version(ctx: Ctx) -> Reply:
    """The v2.1 document that tells the SDK the microversion range."""
    return Reply(200, {"version": _version(ctx)})


# ---------------------------------------------------------------------- helpers


def _not_found(server_id: str) -> SimError:
    return SimError(404, "Instance %s could not be found." % server_id)


def _link(ctx: Ctx, kind: str, object_id: str) -> list[dict]:
    return [
        {"rel": "self", "href": "%s/compute/v2.1/%s/%s" % (ctx.base, kind, object_id)},
        {"rel": "bookmark", "href": "%s/compute/%s/%s" % (ctx.base, kind, object_id)},
    ]


def _ref_id(ref) -> str:
    """flavorRef and imageRef may be an id or a URL ending in the id."""
    return str(ref).rstrip("/").rsplit("/", 1)[-1]


def _server_for(ctx: Ctx, server_id: str) -> dict:
    server = ctx.state.servers.get(server_id)
    if server is None or (not ctx.is_admin and server["project_id"] != ctx.project_id):
        raise _not_found(server_id)
    return server


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in _TRUE


def server_status(server: dict) -> str:
    """The API status Nova derives from vm_state and task_state."""
    vm_state = server["vm_state"]
    if vm_state == "building":
        return "BUILD"
    if vm_state == "active":
        if server["task_state"] == "rebooting":
            return "REBOOT"
        if server["task_state"] == "rebooting_hard":
            return "HARD_REBOOT"
        return "ACTIVE"
    return {"stopped": "SHUTOFF", "error": "ERROR"}.get(vm_state, vm_state.upper())


def server_addresses(state: SimState, server: dict) -> dict:
    """`addresses` as Nova shows them: fixed and floating IPs grouped by network name."""
    if server["vm_state"] == "building":
        return {}
    addresses: dict[str, list] = {}
    for port_id in state.ports_by_device.get(server["id"], []):
        port = state.ports[port_id]
        entries = addresses.setdefault(state.networks[port["network_id"]]["name"], [])
        for fixed in port["fixed_ips"]:
            entries.append(
                {
                    "version": 4,
                    "addr": fixed["ip_address"],
                    "OS-EXT-IPS:type": "fixed",
                    "OS-EXT-IPS-MAC:mac_addr": port["mac_address"],
                }
            )
        fip_id = state.fip_by_port.get(port_id)
        if fip_id in state.floating_ips:
            entries.append(
                {
                    "version": 4,
                    "addr": state.floating_ips[fip_id]["floating_ip_address"],
                    "OS-EXT-IPS:type": "floating",
                    "OS-EXT-IPS-MAC:mac_addr": port["mac_address"],
                }
            )
    return addresses


def server_view(ctx: Ctx, server: dict, *, detail: bool = True) -> dict:
    """A server as Nova shows it at the request's microversion."""
    links = _link(ctx, "servers", server["id"])
    if not detail:
        return {"id": server["id"], "name": server["name"], "links": links}

    flavor = server["flavor"]
    if ctx.mv(2, 47):
        flavor_view = {
            "vcpus": flavor["vcpus"],
            "ram": flavor["ram"],
            "disk": flavor["disk"],
            "ephemeral": flavor["ephemeral"],
            "swap": flavor["swap"],
            "original_name": flavor["name"],
            "extra_specs": dict(flavor["extra_specs"]),
        }
    else:
        flavor_view = {"id": flavor["id"], "links": _link(ctx, "flavors", flavor["id"])[1:]}
    image_view = {"id": server["image_id"], "links": _link(ctx, "images", server["image_id"])[1:]}
    built = server["vm_state"] != "building"
    host_id = ""
    if built:
        host_id = hashlib.sha224((server["project_id"] + server["host"]).encode()).hexdigest()

    view = {
        "id": server["id"],
        "name": server["name"],
        "status": server_status(server),
        "tenant_id": server["project_id"],
        "user_id": server["user_id"],
        "metadata": dict(server["metadata"]),
        "hostId": host_id,
        "image": image_view,
        "flavor": flavor_view,
        "created": iso(server["created"]),
        "updated": iso(server["updated"]),
        "addresses": server_addresses(ctx.state, server),
        "accessIPv4": "",
        "accessIPv6": "",
        "links": links,
        "OS-DCF:diskConfig": "MANUAL",
        "progress": 0,
        "OS-EXT-AZ:availability_zone": server["availability_zone"] if built else "",
        "config_drive": "",
        "key_name": server["key_name"],
        "OS-SRV-USG:launched_at": iso(server["launched_at"], micro=True, zulu=False),
        "OS-SRV-USG:terminated_at": None,
        "OS-EXT-STS:task_state": server["task_state"],
        "OS-EXT-STS:vm_state": server["vm_state"],
        "OS-EXT-STS:power_state": server["power_state"],
        "os-extended-volumes:volumes_attached": [],
        "security_groups": [{"name": "default"}],
    }
    if ctx.mv(2, 9):
        view["locked"] = server["locked"]
    if ctx.mv(2, 19):
        view["description"] = server["description"]
    if ctx.mv(2, 26):
        view["tags"] = list(server["tags"])
    if ctx.mv(2, 63):
        view["trusted_image_certificates"] = None
    if ctx.mv(2, 71):
        view["server_groups"] = []
    if ctx.mv(2, 73):
        view["locked_reason"] = None
    if ctx.mv(2, 96):
        view["pinned_availability_zone"] = None
    if ctx.is_admin:
        view["OS-EXT-SRV-ATTR:host"] = server["host"] if built else None
        view["OS-EXT-SRV-ATTR:hypervisor_hostname"] = server["host"] if built else None
        view["OS-EXT-SRV-ATTR:instance_name"] = "instance-%s" % server["id"][:8]
        if ctx.mv(2, 3):
            view["OS-EXT-SRV-ATTR:reservation_id"] = server["reservation_id"]
            view["OS-EXT-SRV-ATTR:launch_index"] = server["launch_index"]
            view["OS-EXT-SRV-ATTR:kernel_id"] = ""
            view["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
            view["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
            view["OS-EXT-SRV-ATTR:user_data"] = None
        if ctx.mv(2, 16):
            view["host_status"] = "UP" if built else ""
    if ctx.mv(2, 3) and (ctx.is_admin or ctx.mv(2, 90)):
        view["OS-EXT-SRV-ATTR:hostname"] = re.sub(r"[^a-z0-9-]", "-", server["name"].lower())
    if server["fault"] and server["vm_state"] == "error":
        fault = {
            "code": server["fault"]["code"],
            "created": iso(server["fault"]["created"]),
            "message": server["fault"]["message"],
        }
        if ctx.is_admin:
            fault["details"] = "cloudsim: the boot of this server was made to fail."
        view["fault"] = fault
    return view


# ---------------------------------------------------------------------- flavors


def _flavor_view(ctx: Ctx, flavor: dict, *, detail: bool) -> dict:
    view = {
        "id": flavor["id"],
        "name": flavor["name"],
        "links": _link(ctx, "flavors", flavor["id"]),
    }
    if ctx.mv(2, 55):
        view["description"] = flavor["description"]
    if not detail:
        return view
    view.update(
        {
            "ram": flavor["ram"],
            "disk": flavor["disk"],
            "vcpus": flavor["vcpus"],
            # Before 2.75 Nova printed a swap of 0 as an empty string.
            "swap": flavor["swap"] if (flavor["swap"] or ctx.mv(2, 75)) else "",
            "OS-FLV-EXT-DATA:ephemeral": flavor["ephemeral"],
            "OS-FLV-DISABLED:disabled": False,
            "os-flavor-access:is_public": flavor["is_public"],
            "rxtx_factor": flavor["rxtx_factor"],
        }
    )
    if ctx.mv(2, 61):
        view["extra_specs"] = dict(flavor["extra_specs"])
    return view


def _flavors(ctx: Ctx, detail: bool) -> Reply:
    flavors = sorted(ctx.state.flavors.values(), key=lambda f: f["id"])
    # The SDK sends the literal text "None" for is_public; Nova reads that as "all".
    is_public = ctx.query("is_public")
    if is_public is not None and is_public.lower() not in ("none", ""):
        wanted = _truthy(is_public)
        flavors = [f for f in flavors if f["is_public"] == wanted]
    if ctx.query("minRam"):
        flavors = [f for f in flavors if f["ram"] >= int(ctx.query("minRam"))]
    if ctx.query("minDisk"):
        flavors = [f for f in flavors if f["disk"] >= int(ctx.query("minDisk"))]
    marker = ctx.query("marker")
    if marker:
        ids = [f["id"] for f in flavors]
        if marker not in ids:
            raise SimError(400, "marker [%s] not found" % marker)
        flavors = flavors[ids.index(marker) + 1 :]
    limit = _limit(ctx)
    page = flavors[:limit]
    body = {"flavors": [_flavor_view(ctx, f, detail=detail) for f in page]}
    if page and len(page) == limit and len(flavors) > limit:
        body["flavors_links"] = [_next_link(ctx, page[-1]["id"], limit)]
    return Reply(200, body)


def flavors_list(ctx: Ctx) -> Reply:
    return _flavors(ctx, detail=False)


def flavors_detail(ctx: Ctx) -> Reply:
    return _flavors(ctx, detail=True)


def flavor_show(ctx: Ctx, flavor_id: str) -> Reply:
    flavor = ctx.state.flavors.get(flavor_id)
    if flavor is None:
        raise SimError(404, "Flavor %s could not be found." % flavor_id)
    return Reply(200, {"flavor": _flavor_view(ctx, flavor, detail=True)})


def flavor_extra_specs(ctx: Ctx, flavor_id: str) -> Reply:
    flavor = ctx.state.flavors.get(flavor_id)
    if flavor is None:
        raise SimError(404, "Flavor %s could not be found." % flavor_id)
    return Reply(200, {"extra_specs": dict(flavor["extra_specs"])})


# ---------------------------------------------------------------------- servers: listing


def _limit(ctx: Ctx) -> int:
    raw = ctx.query("limit")
    if raw is None:
        return MAX_LIMIT
    try:
        value = int(raw)
    except ValueError as exc:
        raise SimError(400, "limit param must be an integer") from exc
    if value < 0:
        raise SimError(400, "limit param must be positive")
    return min(value, MAX_LIMIT)


def _next_link(ctx: Ctx, marker: str, limit: int) -> dict:
    """The next page's link: the same query (filters encoded again, so a `name` regular
    expression with `+` survives), with this page's last id as the marker."""
    args = ctx.request.args.copy()
    args["marker"] = marker
    args["limit"] = str(limit)
    query = urlencode(list(args.items(multi=True)))
    return {"rel": "next", "href": "%s?%s" % (ctx.request.base_url, query)}


def _name_matcher(pattern: str | None):
    if not pattern:
        return None
    try:
        return re.compile(pattern).search
    except re.error:
        # Limitation: a pattern Python cannot compile is matched as plain text, where
        # Nova's database would apply its own regular expression dialect.
        return lambda name: pattern in name


def _csv(ctx: Ctx, name: str) -> list[str]:
    value = ctx.query(name)
    return [t for t in value.split(",") if t] if value else []


def _server_filter(ctx: Ctx):
    """Build a predicate from the list filters Nova honours for this caller."""
    args = ctx.request.args
    name_match = _name_matcher(args.get("name"))
    statuses = {s.upper() for s in args.getlist("status")}
    tags_all = set(_csv(ctx, "tags"))
    tags_any = set(_csv(ctx, "tags-any"))
    not_tags = set(_csv(ctx, "not-tags"))
    not_tags_any = set(_csv(ctx, "not-tags-any"))
    image = args.get("image")
    flavor = args.get("flavor")
    uuid_ = args.get("uuid")
    user_id = args.get("user_id")
    reservation = args.get("reservation_id")
    ip_match = _name_matcher(args.get("ip"))
    vm_state = args.get("vm_state")
    since = args.get("changes-since")

    project = ctx.project_id
    if ctx.is_admin and _truthy(args.get("all_tenants")):
        project = args.get("project_id") or args.get("tenant_id")
    state = ctx.state

    def keep(server: dict) -> bool:
        if project is not None and server["project_id"] != project:
            return False
        if name_match is not None and not name_match(server["name"]):
            return False
        if statuses and server_status(server) not in statuses:
            return False
        if tags_all and not tags_all.issubset(server["tags"]):
            return False
        if tags_any and not tags_any.intersection(server["tags"]):
            return False
        if not_tags and not_tags.issubset(server["tags"]):
            return False
        if not_tags_any and not_tags_any.intersection(server["tags"]):
            return False
        if image and server["image_id"] != _ref_id(image):
            return False
        if flavor and server["flavor"]["id"] != _ref_id(flavor):
            return False
        if uuid_ and server["id"] != uuid_:
            return False
        if user_id and server["user_id"] != user_id:
            return False
        if reservation and server["reservation_id"] != reservation:
            return False
        if vm_state and server["vm_state"] != vm_state:
            return False
        if since and iso(server["updated"]) < since.replace("+00:00", "Z"):
            return False
        if ip_match is not None:
            addrs = [
                fixed["ip_address"]
                for port_id in state.ports_by_device.get(server["id"], [])
                for fixed in state.ports[port_id]["fixed_ips"]
            ]
            if not any(ip_match(a) for a in addrs):
                return False
        return True

    return keep


def _servers(ctx: Ctx, detail: bool) -> Reply:
    if _truthy(ctx.query("deleted")):
        # Deleted servers are forgotten at once, so there is never one to show.
        return Reply(200, {"servers": []})
    limit = _limit(ctx)
    marker = ctx.query("marker")
    keep = _server_filter(ctx)
    sort_key = ctx.query("sort_key", "created_at")
    descending = ctx.query("sort_dir", "desc") != "asc"

    servers = ctx.state.servers.values()
    if sort_key in ("display_name", "name"):
        ordered = sorted(servers, key=lambda s: (s["name"], s["id"]), reverse=descending)
    elif sort_key == "updated_at":
        ordered = sorted(servers, key=lambda s: (s["updated"], s["id"]), reverse=descending)
    else:
        # Insertion order is creation order, so no sort is needed for the default.
        ordered = reversed(servers) if descending else iter(servers)

    page = []
    found_marker = marker is None
    for server in ordered:
        if not found_marker:
            found_marker = server["id"] == marker
            continue
        if len(page) >= limit:
            # Checked before appending: Nova answers limit=0 with an empty page.
            break
        if keep(server):
            page.append(server)
    if not found_marker:
        raise SimError(400, "marker [%s] not found" % marker)

    body = {"servers": [server_view(ctx, s, detail=detail) for s in page]}
    if page and len(page) == limit:
        body["servers_links"] = [_next_link(ctx, page[-1]["id"], limit)]
    return Reply(200, body)


def servers_list(ctx: Ctx) -> Reply:
    return _servers(ctx, detail=False)


def servers_detail(ctx: Ctx) -> Reply:
    return _servers(ctx, detail=True)


def server_show(ctx: Ctx, server_id: str) -> Reply:
    return Reply(200, {"server": server_view(ctx, _server_for(ctx, server_id))})


# ---------------------------------------------------------------------- servers: create


def _quota_headroom(state: SimState, project_id: str, flavor: dict, min_count, max_count):
    """How many servers Nova would create, or the 403 it would answer."""
    quota = state.compute_quota(project_id)
    used = state.compute_usage(project_id)
    per_server = {"instances": 1, "cores": flavor["vcpus"], "ram": flavor["ram"]}

    def room(resource: str) -> float:
        limit = quota.get(resource, -1)
        return float("inf") if limit < 0 else limit - used[resource]

    allowed = room("instances")
    for resource in ("cores", "ram"):
        if per_server[resource]:
            allowed = min(allowed, room(resource) // per_server[resource])
    if allowed >= max_count:
        return max_count
    if allowed >= min_count:
        return int(allowed)

    # The message names each resource that the largest request would overflow.
    overs = [r for r in ("cores", "instances", "ram") if per_server[r] * max_count > room(r)]
    requested = {
        "instances": str(min_count)
        if min_count == max_count
        else "%d-%d" % (min_count, max_count),
        "cores": str(per_server["cores"] * max_count),
        "ram": str(per_server["ram"] * max_count),
    }
    message = "Quota exceeded for %s: Requested %s, but already used %s of %s %s" % (
        ", ".join(overs),
        ", ".join(requested[r] for r in overs),
        ", ".join(str(used[r]) for r in overs),
        ", ".join(str(quota[r]) for r in overs),
        ", ".join(overs),
    )
    raise SimError(403, message)


def _requested_networks(ctx: Ctx, networks) -> list[str]:
    state = ctx.state
    visible = [
        n
        for n in state.networks.values()
        if not n["router:external"] and (n["shared"] or n["project_id"] == ctx.project_id)
    ]
    if networks is None or networks == "auto":
        # Limitation: a missing `networks` is taken as "auto" at every microversion, where
        # Nova from 2.37 on answers 400.
        own = [n for n in visible if n["project_id"] == ctx.project_id]
        chosen = own if len(own) == 1 else [n for n in visible if n["shared"]]
        if len(chosen) != 1:
            raise SimError(
                400, "Unable to automatically allocate a network for project %s" % ctx.project_id
            )
        return [chosen[0]["id"]]
    if networks == "none":
        return []
    if not isinstance(networks, list):
        raise SimError(400, "Invalid input for field/attribute networks.")
    result = []
    for entry in networks:
        if not isinstance(entry, dict):
            raise SimError(400, "Invalid input for field/attribute networks.")
        if entry.get("port"):
            # Limitation: booting on an existing port is not simulated; a new port is
            # made on that port's network instead.
            port = state.ports.get(entry["port"])
            if port is None:
                raise SimError(400, "Port id %s could not be found." % entry["port"])
            result.append(port["network_id"])
            continue
        network_id = entry.get("uuid")
        network = state.networks.get(network_id or "")
        if network is None or not (
            network["shared"] or network["project_id"] == ctx.project_id or ctx.is_admin
        ):
            raise SimError(400, "Network %s could not be found." % network_id)
        result.append(network_id)
    return result


def server_create(ctx: Ctx) -> Reply:
    """POST /servers: one or many servers (min_count/max_count), quota permitting."""
    state = ctx.state
    data = ctx.body().get("server")
    if not isinstance(data, dict):
        raise SimError(400, "Invalid input for field/attribute server. 'server' is required.")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise SimError(
            400, "Invalid input for field/attribute name. Value: %r. 'name' is invalid." % name
        )

    flavor_id = _ref_id(data.get("flavorRef", ""))
    flavor = state.flavors.get(flavor_id)
    if flavor is None:
        raise SimError(400, "Flavor %s could not be found." % flavor_id)
    image_id = _ref_id(data.get("imageRef", ""))
    image = state.images.get(image_id)
    # Nova's words for an image Glance does not show the project: they name no image.
    if image is None:
        # Limitation: there is no block storage, so a server cannot boot from a volume.
        raise SimError(400, "Can not find requested image")
    if image["visibility"] == "private" and image["owner"] != ctx.project_id and not ctx.is_admin:
        raise SimError(400, "Can not find requested image")
    if data.get("key_name"):
        # Limitation: there are no key pairs, so any key_name is unknown, as Nova says.
        raise SimError(400, "Invalid key_name provided.")

    try:
        min_count = int(data.get("min_count", 1))
        max_count = int(data.get("max_count", min_count))
    except (TypeError, ValueError) as exc:
        raise SimError(400, "Invalid input for field/attribute min_count.") from exc
    if min_count < 1 or max_count < 1:
        raise SimError(400, "Invalid input for field/attribute min_count. Value: 0.")
    if min_count > max_count:
        raise SimError(400, "min_count must be <= max_count")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SimError(400, "Invalid input for field/attribute metadata.")
    if len(metadata) > state.compute_quota(ctx.project_id).get("metadata_items", 128):
        raise SimError(403, "Quota exceeded for metadata_items: too many metadata items.")
    tags = data.get("tags") or []
    if tags and not ctx.mv(2, 52):
        raise SimError(400, "Additional properties are not allowed ('tags' was unexpected)")
    if len(tags) > 50:
        raise SimError(400, "Invalid input for field/attribute tags: too many tags.")
    networks = _requested_networks(ctx, data.get("networks"))

    count = _quota_headroom(state, ctx.project_id, flavor, min_count, max_count)
    alphabet = string.ascii_lowercase + string.digits
    reservation_id = "r-" + "".join(secrets.choice(alphabet) for _ in range(8))
    created = []
    for index in range(count):
        fails, message, boot_time = ctx.faults.plan_boot()
        created.append(
            state.server_create(
                project_id=ctx.project_id,
                user_id=ctx.user_id,
                name=name if count == 1 else "%s-%d" % (name, index + 1),
                flavor=flavor,
                image_id=image_id,
                networks=networks,
                metadata=metadata,
                tags=tags,
                availability_zone=data.get("availability_zone"),
                description=data.get("description"),
                reservation_id=reservation_id,
                launch_index=index,
                boot_time=boot_time,
                fate="error" if fails else "active",
                fault_message=message,
            )
        )

    if data.get("return_reservation_id"):
        return Reply(202, {"reservation_id": reservation_id})
    first = created[0]
    body = {
        "server": {
            "id": first["id"],
            "links": _link(ctx, "servers", first["id"]),
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": "default"}],
            "adminPass": first["admin_pass"],
        }
    }
    return Reply(202, body, {"Location": _link(ctx, "servers", first["id"])[0]["href"]})


# ---------------------------------------------------------------------- servers: changes


def server_update(ctx: Ctx, server_id: str) -> Reply:
    server = _server_for(ctx, server_id)
    data = ctx.body().get("server") or {}
    if "name" in data:
        server["name"] = str(data["name"])
    if "description" in data and ctx.mv(2, 19):
        server["description"] = data["description"]
    server["updated"] = ctx.state.clock()
    return Reply(200, {"server": server_view(ctx, server)})


def server_delete(ctx: Ctx, server_id: str) -> Reply:
    server = _server_for(ctx, server_id)
    if server["locked"] and not ctx.is_admin:
        raise SimError(409, "Instance %s is locked" % server_id)
    ctx.state.server_delete(server_id)
    return Reply(204)


def _conflict(action: str, server: dict, attr: str = "vm_state") -> SimError:
    value = server["task_state"] if attr == "task_state" else server["vm_state"]
    return SimError(
        409,
        "Cannot '%s' instance %s while it is in %s %s" % (action, server["id"], attr, value),
    )


def server_action(ctx: Ctx, server_id: str) -> Reply:
    """POST /servers/{id}/action: os-start, os-stop and reboot."""
    server = _server_for(ctx, server_id)
    data = ctx.body()
    if not data:
        raise SimError(400, "Malformed request body")
    action = next(iter(data))
    if action not in ("os-start", "os-stop", "reboot"):
        raise SimError(400, "There is no such action: %s" % action)
    verb = {"os-start": "start", "os-stop": "stop", "reboot": "reboot"}[action]
    if server["task_state"] is not None:
        raise _conflict(verb, server, "task_state")
    now = ctx.state.clock()

    if action == "os-start":
        if server["vm_state"] != "stopped":
            raise _conflict(verb, server)
        server.update(vm_state="active", power_state=1, updated=now)
    elif action == "os-stop":
        if server["vm_state"] not in ("active", "error"):
            raise _conflict(verb, server)
        server.update(vm_state="stopped", power_state=4, updated=now)
    else:
        hard = str((data.get("reboot") or {}).get("type", "SOFT")).upper() == "HARD"
        allowed = ("active", "stopped", "error") if hard else ("active",)
        if server["vm_state"] not in allowed:
            raise _conflict(verb, server)
        server.update(vm_state="active", power_state=1)
        ctx.state.server_reboot(server, hard)
    return Reply(202)


def metadata_show(ctx: Ctx, server_id: str) -> Reply:
    return Reply(200, {"metadata": dict(_server_for(ctx, server_id)["metadata"])})


def metadata_replace(ctx: Ctx, server_id: str) -> Reply:
    server = _server_for(ctx, server_id)
    server["metadata"] = {str(k): str(v) for k, v in (ctx.body().get("metadata") or {}).items()}
    return Reply(200, {"metadata": dict(server["metadata"])})


def metadata_merge(ctx: Ctx, server_id: str) -> Reply:
    server = _server_for(ctx, server_id)
    for key, value in (ctx.body().get("metadata") or {}).items():
        server["metadata"][str(key)] = str(value)
    return Reply(200, {"metadata": dict(server["metadata"])})


def metadata_item(ctx: Ctx, server_id: str, key: str) -> Reply:
    server = _server_for(ctx, server_id)
    method = ctx.request.method
    if method == "PUT":
        value = (ctx.body().get("meta") or {}).get(key)
        server["metadata"][key] = str(value)
        return Reply(200, {"meta": {key: server["metadata"][key]}})
    if key not in server["metadata"]:
        raise SimError(404, "Metadata item was not found")
    if method == "DELETE":
        del server["metadata"][key]
        return Reply(204)
    return Reply(200, {"meta": {key: server["metadata"][key]}})


def tags_show(ctx: Ctx, server_id: str) -> Reply:
    return Reply(200, {"tags": list(_server_for(ctx, server_id)["tags"])})


def tags_replace(ctx: Ctx, server_id: str) -> Reply:
    server = _server_for(ctx, server_id)
    server["tags"] = [str(t) for t in ctx.body().get("tags") or []]
    return Reply(200, {"tags": list(server["tags"])})


def tags_clear(ctx: Ctx, server_id: str) -> Reply:
    _server_for(ctx, server_id)["tags"] = []
    return Reply(204)


def tag_item(ctx: Ctx, server_id: str, tag: str) -> Reply:
    server = _server_for(ctx, server_id)
    method = ctx.request.method
    if method == "PUT":
        if tag in server["tags"]:
            return Reply(204)
        server["tags"].append(tag)
        return Reply(201, None, {"Location": ctx.request.base_url})
    if tag not in server["tags"]:
        raise SimError(404, "Tag %s could not be found." % tag)
    if method == "DELETE":
        server["tags"].remove(tag)
    return Reply(204)


def interfaces_list(ctx: Ctx, server_id: str) -> Reply:
    server = _server_for(ctx, server_id)
    attachments = []
    for port_id in ctx.state.ports_by_device.get(server["id"], []):
        port = ctx.state.ports[port_id]
        attachments.append(
            {
                "port_id": port_id,
                "net_id": port["network_id"],
                "mac_addr": port["mac_address"],
                "port_state": port["status"],
                "fixed_ips": [dict(f) for f in port["fixed_ips"]],
            }
        )
    return Reply(200, {"interfaceAttachments": attachments})


# ---------------------------------------------------------------------- limits and quotas


def limits_show(ctx: Ctx) -> Reply:
    project_id = ctx.project_id
    if ctx.is_admin and ctx.query("tenant_id"):
        project_id = ctx.query("tenant_id")
    quota = ctx.state.compute_quota(project_id)
    used = ctx.state.compute_usage(project_id)
    absolute = {
        "maxTotalInstances": quota["instances"],
        "maxTotalCores": quota["cores"],
        "maxTotalRAMSize": quota["ram"],
        "maxServerMeta": quota.get("metadata_items", 128),
        "maxTotalKeypairs": quota.get("key_pairs", 100),
        "maxServerGroups": quota.get("server_groups", 10),
        "maxServerGroupMembers": quota.get("server_group_members", 10),
        "totalInstancesUsed": used["instances"],
        "totalCoresUsed": used["cores"],
        "totalRAMUsed": used["ram"],
        "totalServerGroupsUsed": 0,
    }
    if not ctx.mv(2, 57):
        absolute.update(maxPersonality=5, maxPersonalitySize=10240)
    return Reply(200, {"limits": {"absolute": absolute, "rate": []}})


def _quota_project(ctx: Ctx, project_id: str) -> str:
    # Like Nova, any project id is accepted past the policy check, known or not.
    if project_id != ctx.project_id and not ctx.is_admin:
        raise SimError(
            403, "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed."
        )
    return project_id


def quota_show(ctx: Ctx, project_id: str) -> Reply:
    project_id = _quota_project(ctx, project_id)
    quota = ctx.state.compute_quota(project_id)
    body = {key: quota.get(key, -1) for key in _QUOTA_KEYS}
    body["id"] = project_id
    return Reply(200, {"quota_set": body})


def quota_detail(ctx: Ctx, project_id: str) -> Reply:
    project_id = _quota_project(ctx, project_id)
    quota = ctx.state.compute_quota(project_id)
    used = ctx.state.compute_usage(project_id)
    body = {
        key: {"limit": quota.get(key, -1), "in_use": used.get(key, 0), "reserved": 0}
        for key in _QUOTA_KEYS
    }
    body["id"] = project_id
    return Reply(200, {"quota_set": body})


def quota_defaults(ctx: Ctx, project_id: str) -> Reply:
    body = {key: ctx.state.default_compute_quota.get(key, -1) for key in _QUOTA_KEYS}
    body["id"] = project_id
    return Reply(200, {"quota_set": body})


def quota_update(ctx: Ctx, project_id: str) -> Reply:
    if not ctx.is_admin:
        raise SimError(
            403, "Policy doesn't allow os_compute_api:os-quota-sets:update to be performed."
        )
    changes = ctx.body().get("quota_set") or {}
    override = ctx.state.compute_quotas.setdefault(project_id, {})
    for key, value in changes.items():
        if key in _QUOTA_KEYS:
            override[key] = int(value)
    return quota_show(ctx, project_id)


def availability_zones(ctx: Ctx) -> Reply:
    zone = {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}
    return Reply(200, {"availabilityZoneInfo": [zone]})


def keypairs_list(ctx: Ctx) -> Reply:
    return Reply(200, {"keypairs": []})


def routes(state: SimState) -> list[Rule]:
    """The URL rules of the compute service."""

    def ep(handler, public=False) -> Endpoint:
        return Endpoint("compute", handler, public)

    v = "/compute/v2.1"
    srv = v + "/servers/<server_id>"
    quota = v + "/os-quota-sets/<project_id>"
    return [
        Rule("/compute", endpoint=ep(versions, True), methods=["GET"]),
        Rule(v, endpoint=ep(version, True), methods=["GET"]),
        Rule(v + "/flavors", endpoint=ep(flavors_list), methods=["GET"]),
        Rule(v + "/flavors/detail", endpoint=ep(flavors_detail), methods=["GET"]),
        Rule(v + "/flavors/<flavor_id>", endpoint=ep(flavor_show), methods=["GET"]),
        Rule(
            v + "/flavors/<flavor_id>/os-extra_specs",
            endpoint=ep(flavor_extra_specs),
            methods=["GET"],
        ),
        Rule(v + "/servers", endpoint=ep(servers_list), methods=["GET"]),
        Rule(v + "/servers", endpoint=ep(server_create), methods=["POST"]),
        Rule(v + "/servers/detail", endpoint=ep(servers_detail), methods=["GET"]),
        Rule(srv, endpoint=ep(server_show), methods=["GET"]),
        Rule(srv, endpoint=ep(server_update), methods=["PUT"]),
        Rule(srv, endpoint=ep(server_delete), methods=["DELETE"]),
        Rule(srv + "/action", endpoint=ep(server_action), methods=["POST"]),
        Rule(srv + "/metadata", endpoint=ep(metadata_show), methods=["GET"]),
        Rule(srv + "/metadata", endpoint=ep(metadata_replace), methods=["PUT"]),
        Rule(srv + "/metadata", endpoint=ep(metadata_merge), methods=["POST"]),
        Rule(
            srv + "/metadata/<key>", endpoint=ep(metadata_item), methods=["GET", "PUT", "DELETE"]
        ),
        Rule(srv + "/tags", endpoint=ep(tags_show), methods=["GET"]),
        Rule(srv + "/tags", endpoint=ep(tags_replace), methods=["PUT"]),
        Rule(srv + "/tags", endpoint=ep(tags_clear), methods=["DELETE"]),
        Rule(srv + "/tags/<tag>", endpoint=ep(tag_item), methods=["GET", "PUT", "DELETE"]),
        Rule(srv + "/os-interface", endpoint=ep(interfaces_list), methods=["GET"]),
        Rule(v + "/limits", endpoint=ep(limits_show), methods=["GET"]),
        Rule(quota, endpoint=ep(quota_show), methods=["GET"]),
        Rule(quota, endpoint=ep(quota_update), methods=["PUT"]),
        Rule(quota + "/detail", endpoint=ep(quota_detail), methods=["GET"]),
        Rule(quota + "/defaults", endpoint=ep(quota_defaults), methods=["GET"]),
        Rule(v + "/os-availability-zone", endpoint=ep(availability_zones), methods=["GET"]),
        Rule(v + "/os-keypairs", endpoint=ep(keypairs_list), methods=["GET"]),
    ]
