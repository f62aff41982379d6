"""Neutron v2.0 under /network: networks, subnets, routers and security groups (read),
ports and floating IPs (read and write), quotas and extensions.

List filters work as in Neutron for every attribute of the resource: `key=value`, repeated
keys mean "any of", plus the tag filters and `fields`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.routing import Rule

from cloudsim.app import Ctx, Endpoint, Reply
from cloudsim.state import SimError, SimState, derived_id, iso

_RESERVED = {"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"}
_TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
_EXTENSIONS = (
    ("external-net", "Neutron external network"),
    ("router", "Neutron L3 Router"),
    ("quotas", "Quota management support"),
    ("quota_details", "Quota details management support"),
    ("standard-attr-description", "standard-attr-description"),
    ("standard-attr-tag", "Tag support for resources with standard attribute"),
    ("fip-port-details", "Floating IP Port Details Extension"),
    ("binding", "Port Binding"),
    ("security-group", "security-group"),
    ("auto-allocated-topology", "Auto Allocated Topology Services"),
)


def versions(ctx: Ctx) -> Reply:
    """The network root: the one API version Neutron serves."""
    link = {"rel": "self", "href": ctx.base + "/network/v2.0/"}
    return Reply(200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [link]}]})


def resources(ctx: Ctx) -> Reply:
    """GET /v2.0/: the collections this API serves."""
    items = []
    for name, collection in (
        ("network", "networks"),
        ("subnet", "subnets"),
        ("port", "ports"),
        ("floatingip", "floatingips"),
        ("router", "routers"),
        ("security_group", "security-groups"),
        ("quota", "quotas"),
    ):
        href = "%s/network/v2.0/%s" % (ctx.base, collection)
        items.append(
            {"name": name, "collection": collection, "links": [{"rel": "self", "href": href}]}
        )
    return Reply(200, {"resources": items})


# ---------------------------------------------------------------------- views


def _common(record: dict) -> dict:
    view = dict(record)
    view["tenant_id"] = record["project_id"]
    view["tags"] = list(record.get("tags", []))
    for stamp in ("created_at", "updated_at"):
        if stamp in view:
            view[stamp] = iso(view[stamp])
    return view


def network_view(state: SimState, network: dict) -> dict:
    view = _common(network)
    view["subnets"] = list(network["subnets"])
    view["availability_zones"] = list(network["availability_zones"])
    view.update(
        is_default=False,
        ipv4_address_scope=None,
        ipv6_address_scope=None,
        l2_adjacency=True,
        qos_policy_id=None,
        dns_domain="",
    )
    return view


def subnet_view(state: SimState, subnet: dict) -> dict:
    view = _common(subnet)
    view["allocation_pools"] = [dict(p) for p in subnet["allocation_pools"]]
    view["dns_nameservers"] = list(subnet["dns_nameservers"])
    view.update(
        ipv6_address_mode=None,
        ipv6_ra_mode=None,
        subnetpool_id=None,
        segment_id=None,
        service_types=[],
    )
    return view


def port_view(state: SimState, port: dict) -> dict:
    view = _common(port)
    view["fixed_ips"] = [dict(f) for f in port["fixed_ips"]]
    view["security_groups"] = list(port["security_groups"])
    view.update(
        allowed_address_pairs=[],
        extra_dhcp_opts=[],
        dns_name="",
        dns_assignment=[],
        qos_policy_id=None,
        propagate_uplink_status=False,
        ip_allocation="immediate",
    )
    view["binding:vif_type"] = "ovs" if port["status"] == "ACTIVE" else "unbound"
    return view


def fip_view(state: SimState, fip: dict) -> dict:
    view = _common(fip)
    view["port_forwardings"] = []
    port = state.ports.get(fip["port_id"] or "")
    view["port_details"] = (
        {
            key: port[key]
            for key in (
                "name",
                "network_id",
                "mac_address",
                "admin_state_up",
                "status",
                "device_id",
                "device_owner",
            )
        }
        if port
        else None
    )
    return view


def router_view(state: SimState, router: dict) -> dict:
    view = _common(router)
    view.pop("subnet_ids", None)
    gateway = router["external_gateway_info"]
    view["external_gateway_info"] = dict(gateway, enable_snat=True) if gateway else None
    view.update(distributed=False, ha=False, routes=[], availability_zones=["nova"])
    return view


def security_group_view(project_id: str) -> dict:
    return {
        "id": derived_id("security_group", project_id),
        "name": "default",
        "description": "Default security group",
        "project_id": project_id,
        "tenant_id": project_id,
        "stateful": True,
        "security_group_rules": [],
        "tags": [],
        "revision_number": 1,
    }


# ---------------------------------------------------------------------- listing


def _matches(ctx: Ctx, view: dict) -> bool:
    args = ctx.request.args
    for key in args:
        if key in _RESERVED or key in _TAG_FILTERS:
            continue
        wanted = args.getlist(key)
        field = "project_id" if key == "tenant_id" else key
        if field == "fixed_ips" and "fixed_ips" in view:
            for condition in wanted:
                name, _, value = condition.partition("=")
                if not any(str(f.get(name)) == value for f in view["fixed_ips"]):
                    return False
            continue
        if field not in view:
            # Limitation: filters on unknown attributes are ignored where a Neutron with
            # filter validation answers 400.
            continue
        have = view[field]
        if isinstance(have, bool):
            have = str(have).lower()
            wanted = [w.lower() for w in wanted]
        elif have is None:
            have = ""
        if str(have) not in wanted:
            return False
    tags = set(view.get("tags", []))

    def tag_set(name: str) -> set[str]:
        return {t for value in args.getlist(name) for t in value.split(",") if t}

    if tag_set("tags") and not tag_set("tags").issubset(tags):
        return False
    if tag_set("tags-any") and not tag_set("tags-any") & tags:
        return False
    if tag_set("not-tags") and tag_set("not-tags").issubset(tags):
        return False
    return not (tag_set("not-tags-any") and tag_set("not-tags-any") & tags)


def _list(ctx: Ctx, collection: str, views: list[dict]) -> Reply:
    """Filter, page and trim a list of views the way Neutron does."""
    views = [v for v in views if _matches(ctx, v)]
    marker = ctx.query("marker")
    if marker:
        ids = [v["id"] for v in views]
        if marker in ids:
            views = views[ids.index(marker) + 1 :]
    body: dict = {}
    limit = ctx.query("limit")
    if limit:
        try:
            size = int(limit)
        except ValueError as exc:
            raise SimError(400, "Bad limit request: limit must be an integer.") from exc
        if size < 0:
            raise SimError(400, "Bad limit request: limit must be an integer 0 or greater.")
        if size > 0 and len(views) > size:
            views = views[:size]
            # The next page keeps the filters (and fields) of this one.
            args = ctx.request.args.copy()
            args["limit"] = str(size)
            args["marker"] = views[-1]["id"]
            query = urlencode(list(args.items(multi=True)))
            body[collection + "_links"] = [
                {"rel": "next", "href": "%s?%s" % (ctx.request.base_url, query)}
            ]
    fields = ctx.query_list("fields")
    if fields:
        views = [{k: v[k] for k in fields if k in v} for v in views]
    body[collection] = views
    return Reply(200, body)


def _own(ctx: Ctx, record: dict) -> bool:
    return ctx.is_admin or record["project_id"] == ctx.project_id


def _network_visible(ctx: Ctx, network: dict) -> bool:
    return _own(ctx, network) or network["shared"] or network["router:external"]


def networks_list(ctx: Ctx) -> Reply:
    state = ctx.state
    views = [network_view(state, n) for n in state.networks.values() if _network_visible(ctx, n)]
    return _list(ctx, "networks", views)


def network_show(ctx: Ctx, network_id: str) -> Reply:
    network = ctx.state.networks.get(network_id)
    if network is None or not _network_visible(ctx, network):
        raise SimError(404, "Network %s could not be found." % network_id, "NetworkNotFound")
    return Reply(200, {"network": network_view(ctx.state, network)})


def _subnet_visible(ctx: Ctx, subnet: dict) -> bool:
    return _own(ctx, subnet) or ctx.state.networks[subnet["network_id"]]["shared"]


def subnets_list(ctx: Ctx) -> Reply:
    state = ctx.state
    views = [subnet_view(state, s) for s in state.subnets.values() if _subnet_visible(ctx, s)]
    return _list(ctx, "subnets", views)


def subnet_show(ctx: Ctx, subnet_id: str) -> Reply:
    subnet = ctx.state.subnets.get(subnet_id)
    if subnet is None or not _subnet_visible(ctx, subnet):
        raise SimError(404, "Subnet %s could not be found." % subnet_id, "SubnetNotFound")
    return Reply(200, {"subnet": subnet_view(ctx.state, subnet)})


def routers_list(ctx: Ctx) -> Reply:
    state = ctx.state
    views = [router_view(state, r) for r in state.routers.values() if _own(ctx, r)]
    return _list(ctx, "routers", views)


def router_show(ctx: Ctx, router_id: str) -> Reply:
    router = ctx.state.routers.get(router_id)
    if router is None or not _own(ctx, router):
        raise SimError(404, "Router %s could not be found" % router_id, "RouterNotFound")
    return Reply(200, {"router": router_view(ctx.state, router)})


def security_groups_list(ctx: Ctx) -> Reply:
    projects = list(ctx.state.projects) if ctx.is_admin else [ctx.project_id]
    return _list(ctx, "security_groups", [security_group_view(p) for p in projects])


# ---------------------------------------------------------------------- ports


def _port_for(ctx: Ctx, port_id: str) -> dict:
    port = ctx.state.ports.get(port_id)
    if port is None or not _own(ctx, port):
        raise SimError(404, "Port %s could not be found." % port_id, "PortNotFound")
    return port


def ports_list(ctx: Ctx) -> Reply:
    state = ctx.state
    device_id = ctx.query("device_id")
    if device_id and len(ctx.query_list("device_id")) == 1:
        # The common question "which ports has this server" needs no scan of every port.
        candidates = [state.ports[p] for p in state.ports_by_device.get(device_id, [])]
    else:
        candidates = state.ports.values()
    views = [port_view(state, p) for p in candidates if _own(ctx, p)]
    return _list(ctx, "ports", views)


def port_show(ctx: Ctx, port_id: str) -> Reply:
    return Reply(200, {"port": port_view(ctx.state, _port_for(ctx, port_id))})


def _target_project(ctx: Ctx, data: dict) -> str:
    wanted = data.get("project_id") or data.get("tenant_id")
    if wanted and wanted != ctx.project_id:
        if not ctx.is_admin:
            raise SimError(403, "Not authorized to create a resource for another project.")
        return wanted
    return ctx.project_id


def port_create(ctx: Ctx) -> Reply:
    state = ctx.state
    data = ctx.body().get("port") or {}
    network = state.networks.get(data.get("network_id") or "")
    if network is None or not (_own(ctx, network) or network["shared"]):
        raise SimError(
            404, "Network %s could not be found." % data.get("network_id"), "NetworkNotFound"
        )
    project_id = _target_project(ctx, data)
    limit = state.network_quota(project_id).get("port", -1)
    used = sum(1 for p in state.ports.values() if p["project_id"] == project_id)
    if 0 <= limit <= used:
        raise SimError(409, "Quota exceeded for resources: ['port'].", "OverQuota")
    port = state.port_create(
        project_id=project_id,
        network_id=network["id"],
        device_id=data.get("device_id", ""),
        device_owner=data.get("device_owner", ""),
        name=data.get("name", ""),
    )
    port["description"] = data.get("description", "")
    return Reply(201, {"port": port_view(state, port)})


def port_update(ctx: Ctx, port_id: str) -> Reply:
    port = _port_for(ctx, port_id)
    data = ctx.body().get("port") or {}
    for key in ("name", "description", "admin_state_up"):
        if key in data:
            port[key] = data[key]
    port["updated_at"] = ctx.state.clock()
    port["revision_number"] += 1
    return Reply(200, {"port": port_view(ctx.state, port)})


def port_delete(ctx: Ctx, port_id: str) -> Reply:
    _port_for(ctx, port_id)
    ctx.state.port_delete(port_id)
    return Reply(204)


# ---------------------------------------------------------------------- floating IPs


def _fip_for(ctx: Ctx, fip_id: str) -> dict:
    fip = ctx.state.floating_ips.get(fip_id)
    if fip is None or not _own(ctx, fip):
        raise SimError(404, "Floating IP %s could not be found" % fip_id, "FloatingIPNotFound")
    return fip


def fips_list(ctx: Ctx) -> Reply:
    state = ctx.state
    views = [fip_view(state, f) for f in state.floating_ips.values() if _own(ctx, f)]
    return _list(ctx, "floatingips", views)


def fip_show(ctx: Ctx, fip_id: str) -> Reply:
    return Reply(200, {"floatingip": fip_view(ctx.state, _fip_for(ctx, fip_id))})


def fip_create(ctx: Ctx) -> Reply:
    """POST /v2.0/floatingips on an external network, optionally straight onto a port."""
    state = ctx.state
    data = ctx.body().get("floatingip") or {}
    network_id = data.get("floating_network_id")
    if not network_id:
        raise SimError(
            400,
            "Invalid input for operation: 'floating_network_id' is required.",
            "InvalidInput",
        )
    network = state.networks.get(network_id)
    if network is None or not _network_visible(ctx, network):
        raise SimError(404, "Network %s could not be found." % network_id, "NetworkNotFound")
    if not network["router:external"]:
        raise SimError(
            400,
            "Bad floatingip request: Network %s is not a valid external network." % network_id,
            "BadRequest",
        )
    # Limitation: a requested floating_ip_address or subnet_id is ignored; the next free
    # address of the network's first subnet is given.
    project_id = _target_project(ctx, data)
    port_id = data.get("port_id")
    if port_id:
        _port_for(ctx, port_id)
    fip = state.fip_create(
        project_id=project_id,
        network_id=network_id,
        description=data.get("description") or "",
    )
    if port_id:
        try:
            state.fip_attach(fip, port_id, data.get("fixed_ip_address"))
        except SimError:
            state.fip_delete(fip["id"])
            raise
    return Reply(201, {"floatingip": fip_view(state, fip)})


def fip_update(ctx: Ctx, fip_id: str) -> Reply:
    """PUT: associate (port_id), disassociate (port_id null) or describe a floating IP."""
    state = ctx.state
    fip = _fip_for(ctx, fip_id)
    data = ctx.body().get("floatingip") or {}
    if "port_id" in data:
        if data["port_id"]:
            _port_for(ctx, data["port_id"])
            state.fip_attach(fip, data["port_id"], data.get("fixed_ip_address"))
        else:
            state.fip_detach(fip)
    if "description" in data:
        fip["description"] = data["description"] or ""
        fip["updated_at"] = state.clock()
    return Reply(200, {"floatingip": fip_view(state, fip)})


def fip_delete(ctx: Ctx, fip_id: str) -> Reply:
    _fip_for(ctx, fip_id)
    ctx.state.fip_delete(fip_id)
    return Reply(204)


# ---------------------------------------------------------------------- quotas


def _usage(state: SimState, project_id: str) -> dict:
    def count(records) -> int:
        return sum(1 for r in records if r["project_id"] == project_id)

    return {
        "network": count(state.networks.values()),
        "subnet": count(state.subnets.values()),
        "port": count(state.ports.values()),
        "router": count(state.routers.values()),
        "floatingip": count(state.floating_ips.values()),
        "security_group": 1,
        "security_group_rule": 0,
    }


def _quota_project(ctx: Ctx, project_id: str) -> None:
    if project_id != ctx.project_id and not ctx.is_admin:
        raise SimError(403, "Not authorized to read the quota of another project.")


def quotas_list(ctx: Ctx) -> Reply:
    if not ctx.is_admin:
        raise SimError(403, "Not authorized to list quotas.")
    quotas = []
    for project_id in ctx.state.network_quotas:
        quota = ctx.state.network_quota(project_id)
        quota.update(project_id=project_id, tenant_id=project_id)
        quotas.append(quota)
    return Reply(200, {"quotas": quotas})


def quota_show(ctx: Ctx, project_id: str) -> Reply:
    _quota_project(ctx, project_id)
    return Reply(200, {"quota": ctx.state.network_quota(project_id)})


def quota_default(ctx: Ctx, project_id: str) -> Reply:
    return Reply(200, {"quota": dict(ctx.state.default_network_quota)})


def quota_details(ctx: Ctx, project_id: str) -> Reply:
    _quota_project(ctx, project_id)
    quota = ctx.state.network_quota(project_id)
    used = _usage(ctx.state, project_id)
    body = {
        key: {"limit": limit, "used": used.get(key, 0), "reserved": 0}
        for key, limit in quota.items()
    }
    return Reply(200, {"quota": body})


def quota_update(ctx: Ctx, project_id: str) -> Reply:
    if not ctx.is_admin:
        raise SimError(403, "Not authorized to update quotas.")
    override = ctx.state.network_quotas.setdefault(project_id, {})
    for key, value in (ctx.body().get("quota") or {}).items():
        override[key] = int(value)
    return Reply(200, {"quota": ctx.state.network_quota(project_id)})


def extensions_list(ctx: Ctx) -> Reply:
    items = [
        {
            "alias": alias,
            "name": name,
            "description": name,
            "updated": "2013-01-01T00:00:00-00:00",
            "links": [],
        }
        for alias, name in _EXTENSIONS
    ]
    return Reply(200, {"extensions": items})


def routes(state: SimState) -> list[Rule]:
    """The URL rules of the network service."""

    def ep(handler, public=False) -> Endpoint:
        return Endpoint("network", handler, public)

    v = "/network/v2.0"
    return [
        Rule("/network", endpoint=ep(versions, True), methods=["GET"]),
        Rule(v, endpoint=ep(resources, True), methods=["GET"]),
        Rule(v + "/extensions", endpoint=ep(extensions_list), methods=["GET"]),
        Rule(v + "/networks", endpoint=ep(networks_list), methods=["GET"]),
        Rule(v + "/networks/<network_id>", endpoint=ep(network_show), methods=["GET"]),
        Rule(v + "/subnets", endpoint=ep(subnets_list), methods=["GET"]),
        Rule(v + "/subnets/<subnet_id>", endpoint=ep(subnet_show), methods=["GET"]),
        Rule(v + "/routers", endpoint=ep(routers_list), methods=["GET"]),
        Rule(v + "/routers/<router_id>", endpoint=ep(router_show), methods=["GET"]),
        Rule(v + "/security-groups", endpoint=ep(security_groups_list), methods=["GET"]),
        Rule(v + "/ports", endpoint=ep(ports_list), methods=["GET"]),
        Rule(v + "/ports", endpoint=ep(port_create), methods=["POST"]),
        Rule(v + "/ports/<port_id>", endpoint=ep(port_show), methods=["GET"]),
        Rule(v + "/ports/<port_id>", endpoint=ep(port_update), methods=["PUT"]),
        Rule(v + "/ports/<port_id>", endpoint=ep(port_delete), methods=["DELETE"]),
        Rule(v + "/floatingips", endpoint=ep(fips_list), methods=["GET"]),
        Rule(v + "/floatingips", endpoint=ep(fip_create), methods=["POST"]),
        Rule(v + "/floatingips/<fip_id>", endpoint=ep(fip_show), methods=["GET"]),
        Rule(v + "/floatingips/<fip_id>", endpoint=ep(fip_update), methods=["PUT"]),
        Rule(v + "/floatingips/<fip_id>", endpoint=ep(fip_delete), methods=["DELETE"]),
        Rule(v + "/quotas", endpoint=ep(quotas_list), methods=["GET"]),
        Rule(v + "/quotas/<project_id>", endpoint=ep(quota_show), methods=["GET"]),
        Rule(v + "/quotas/<project_id>", endpoint=ep(quota_update), methods=["PUT"]),
        Rule(v + "/quotas/<project_id>/details", endpoint=ep(quota_details), methods=["GET"]),
        Rule(v + "/quotas/<project_id>/default", endpoint=ep(quota_default), methods=["GET"]),
    ]
