"""The simulated cloud's state: identities, flavors, images, servers, networks, ports and
floating IPs, seeded from a preset and optionally saved to a JSON file.

Every read and change happens under `SimState.lock`. Slow transitions (a server booting,
a deletion finishing) are not driven by timers: each is queued with the time it becomes
due, and `settle()` applies what is due at the start of every request, so the outcome is
deterministic and costs nothing while nobody is looking.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import heapq
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

logger = logging.getLogger(__name__)

PRESET_DIR = Path(__file__).parent / "presets"
DEFAULT_PRESET = PRESET_DIR / "default.yaml"

# A fixed namespace makes derived ids identical on every machine and every restart.
_ID_NAMESPACE = uuid.UUID("0c5f8d8e-4b7a-4f61-9f1e-6a1c2d3b4e5f")

STATE_FORMAT = 1
DEFAULT_BOOT_FAULT = "No valid host was found. There are not enough hosts available."


def derived_id(kind: str, name: str, *, dashes: bool = True) -> str:
    """Return a stable UUID for a preset object that has no id written in the preset."""
    value = uuid.uuid5(_ID_NAMESPACE, f"{kind}:{name}")
    return str(value) if dashes else value.hex


def iso(ts: float | None, *, micro: bool = False, zulu: bool = True) -> str | None:
    """Format an epoch time the way OpenStack APIs print it."""
    if ts is None:
        return None
    fmt = "%Y-%m-%dT%H:%M:%S"
    text = time.strftime(fmt, time.gmtime(ts))
    if micro:
        text += ".%06d" % int((ts % 1) * 1_000_000)
    return text + ("Z" if zulu else "")


def load_preset(path: str | os.PathLike | None = None) -> dict:
    """Read a preset YAML file (the packaged default when no path is given)."""
    with open(path or DEFAULT_PRESET, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


class SimError(Exception):
    """A request the cloud refuses; the HTTP layer turns it into the service's error body."""

    def __init__(self, status: int, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        # Neutron names its error type in the body (NetworkNotFound, OverQuota, ...).
        self.kind = kind


@dataclass
class Settings:
    """Timings of the simulated cloud, changeable at run time through the control API."""

    boot_time: float = 2.0
    delete_time: float = 1.0
    token_ttl: float = 3600.0
    reboot_time: float | None = None


class SimState:
    """All mutable state of one simulated cloud; hold `lock` while touching it."""

    def __init__(
        self,
        preset: dict | None = None,
        *,
        settings: Settings | None = None,
        clock=time.time,
    ) -> None:
        self.lock = threading.RLock()
        # Bumped on every change, so a saver thread knows when there is something to write.
        self.version = 0
        self.clock = clock
        self.settings = settings or Settings()
        # What a control-API reset goes back to.
        self.initial_settings = dataclasses.replace(self.settings)
        self.state_file: str | None = None
        self.preset = preset if preset is not None else load_preset()
        self.reset()

    # ------------------------------------------------------------------ seeding

    def reset(self) -> None:
        """Forget every change and start again from the preset (tokens survive)."""
        with self.lock:
            tokens = getattr(self, "tokens", {})
            self._seed(self.preset)
            # Keeping tokens lets clients that logged in before a reset go on working,
            # as long as their user and project still exist.
            self.tokens = {
                key: tok
                for key, tok in tokens.items()
                if tok["user_id"] in self.users
                and (tok["project_id"] is None or tok["project_id"] in self.projects)
            }

    def _seed(self, preset: dict) -> None:
        now = self.clock()
        self.region = preset.get("region", "RegionOne")
        self.domains = {}
        for dom in preset.get("domains") or [{"id": "default", "name": "Default"}]:
            self.domains[dom["id"]] = {"id": dom["id"], "name": dom["name"], "enabled": True}
        default_domain = next(iter(self.domains))

        self.roles = {}
        for name in preset.get("roles", ["admin", "member", "reader"]):
            role_id = derived_id("role", name, dashes=False)
            self.roles[role_id] = {"id": role_id, "name": name, "domain_id": None}
        role_by_name = {r["name"]: r["id"] for r in self.roles.values()}

        self.projects = {}
        for proj in preset.get("projects", []):
            pid = proj.get("id") or derived_id("project", proj["name"], dashes=False)
            self.projects[pid] = {
                "id": pid,
                "name": proj["name"],
                "domain_id": proj.get("domain_id", default_domain),
                "description": proj.get("description", ""),
                "enabled": True,
                "is_domain": False,
                "parent_id": proj.get("domain_id", default_domain),
                "tags": [],
            }
        project_by_name = {p["name"]: p["id"] for p in self.projects.values()}

        self.users = {}
        self.assignments = []
        for user in preset.get("users", []):
            uid = user.get("id") or derived_id("user", user["name"], dashes=False)
            roles = user.get("roles", {})
            default_project = next(iter(roles), None)
            self.users[uid] = {
                "id": uid,
                "name": user["name"],
                "domain_id": user.get("domain_id", default_domain),
                "password": user["password"],
                "email": user.get("email"),
                "enabled": True,
                "default_project_id": project_by_name.get(default_project),
                "password_expires_at": None,
            }
            for project_name, role_names in roles.items():
                for role_name in role_names:
                    self.assignments.append(
                        {
                            "user_id": uid,
                            "project_id": project_by_name[project_name],
                            "role_id": role_by_name[role_name],
                        }
                    )
        self.app_credentials = {}
        self.tokens = {}

        quotas = preset.get("quotas", {})
        self.default_compute_quota = dict(quotas.get("compute", {}))
        self.default_network_quota = dict(quotas.get("network", {}))
        self.compute_quotas = {}
        self.network_quotas = {}

        self.flavors = {}
        for flv in preset.get("flavors", []):
            fid = str(flv.get("id") or derived_id("flavor", flv["name"]))
            self.flavors[fid] = {
                "id": fid,
                "name": flv["name"],
                "vcpus": flv["vcpus"],
                "ram": flv["ram"],
                "disk": flv["disk"],
                "ephemeral": flv.get("ephemeral", 0),
                "swap": flv.get("swap", 0),
                "rxtx_factor": 1.0,
                "is_public": flv.get("is_public", True),
                "description": flv.get("description"),
                "extra_specs": dict(flv.get("extra_specs", {})),
            }

        self.images = {}
        admin_project = project_by_name.get("admin")
        for img in preset.get("images", []):
            iid = img.get("id") or derived_id("image", img["name"])
            checksum = hashlib.md5(iid.encode(), usedforsecurity=False).hexdigest()
            self.images[iid] = {
                "id": iid,
                "name": img["name"],
                "status": "active",
                "visibility": img.get("visibility", "public"),
                "protected": False,
                "os_hidden": False,
                "disk_format": img.get("disk_format", "qcow2"),
                "container_format": img.get("container_format", "bare"),
                "min_disk": img.get("min_disk", 0),
                "min_ram": img.get("min_ram", 0),
                "size": img.get("size", 0),
                "virtual_size": img.get("virtual_size"),
                "checksum": checksum,
                "os_hash_algo": "sha512",
                "os_hash_value": hashlib.sha512(iid.encode()).hexdigest(),
                "owner": project_by_name.get(img.get("owner", "admin"), admin_project),
                "tags": list(img.get("tags", [])),
                "created_at": now,
                "updated_at": now,
                "properties": dict(img.get("properties", {})),
            }

        self.networks = {}
        self.subnets = {}
        self.ports = {}
        self.floating_ips = {}
        self.routers = {}
        self.ports_by_device = {}
        self.fip_by_port = {}
        self.ip_used = {}
        self.ip_cursor = {}
        for net in preset.get("networks", []):
            nid = net.get("id") or derived_id("network", net["name"])
            owner = project_by_name[net.get("project", "admin")]
            self.networks[nid] = {
                "id": nid,
                "name": net["name"],
                "project_id": owner,
                "status": "ACTIVE",
                "admin_state_up": True,
                "shared": bool(net.get("shared", False)),
                "router:external": bool(net.get("external", False)),
                "mtu": net.get("mtu", 1450),
                "port_security_enabled": True,
                "description": net.get("description", ""),
                "availability_zones": ["nova"],
                "subnets": [],
                "tags": [],
                "created_at": now,
                "updated_at": now,
                "revision_number": 1,
            }
            for sub in net.get("subnets", []):
                sid = sub.get("id") or derived_id("subnet", sub["name"])
                cidr = ipaddress.ip_network(sub["cidr"])
                hosts_first = cidr.network_address + 2
                hosts_last = cidr.broadcast_address - 1
                self.subnets[sid] = {
                    "id": sid,
                    "name": sub["name"],
                    "network_id": nid,
                    "project_id": owner,
                    "cidr": str(cidr),
                    "ip_version": cidr.version,
                    "gateway_ip": sub.get("gateway_ip", str(cidr.network_address + 1)),
                    "allocation_pools": [{"start": str(hosts_first), "end": str(hosts_last)}],
                    "enable_dhcp": sub.get("enable_dhcp", True),
                    "dns_nameservers": list(sub.get("dns_nameservers", [])),
                    "host_routes": [],
                    "description": "",
                    "tags": [],
                    "created_at": now,
                    "updated_at": now,
                    "revision_number": 0,
                }
                self.networks[nid]["subnets"].append(sid)
                self.ip_used[sid] = set()
                self.ip_cursor[sid] = 0

        subnet_by_name = {s["name"]: s["id"] for s in self.subnets.values()}
        network_by_name = {n["name"]: n["id"] for n in self.networks.values()}
        for rtr in preset.get("routers", []):
            rid = rtr.get("id") or derived_id("router", rtr["name"])
            external = network_by_name.get(rtr.get("external_network"))
            self.routers[rid] = {
                "id": rid,
                "name": rtr["name"],
                "project_id": project_by_name[rtr.get("project", "admin")],
                "status": "ACTIVE",
                "admin_state_up": True,
                "external_gateway_info": {"network_id": external} if external else None,
                "subnet_ids": [subnet_by_name[name] for name in rtr.get("subnets", [])],
                "description": "",
                "tags": [],
                "created_at": now,
                "updated_at": now,
            }

        self.servers = {}
        self.events = []
        self._event_seq = 0

    # ------------------------------------------------------------------ lookups

    def project_by_ref(self, ref: str) -> dict | None:
        """Find a project by id or by name."""
        if ref in self.projects:
            return self.projects[ref]
        return next((p for p in self.projects.values() if p["name"] == ref), None)

    def role_names(self, user_id: str, project_id: str | None) -> list[str]:
        """The names of the roles a user holds on a project."""
        return [
            self.roles[a["role_id"]]["name"]
            for a in self.assignments
            if a["user_id"] == user_id and a["project_id"] == project_id
        ]

    def first_member(self, project_id: str) -> dict | None:
        """The user a project's clouds.yaml entry logs in as."""
        for assignment in self.assignments:
            if assignment["project_id"] == project_id:
                return self.users[assignment["user_id"]]
        return None

    def compute_quota(self, project_id: str) -> dict:
        """The project's Nova quota: preset defaults under any override."""
        quota = dict(self.default_compute_quota)
        quota.update(self.compute_quotas.get(project_id, {}))
        return quota

    def network_quota(self, project_id: str) -> dict:
        """The project's Neutron quota: preset defaults under any override."""
        quota = dict(self.default_network_quota)
        quota.update(self.network_quotas.get(project_id, {}))
        return quota

    def compute_usage(self, project_id: str) -> dict:
        """Instances, cores and RAM that a project's servers hold (deleting ones included)."""
        usage = {"instances": 0, "cores": 0, "ram": 0}
        for server in self.servers.values():
            if server["project_id"] == project_id:
                usage["instances"] += 1
                usage["cores"] += server["flavor"]["vcpus"]
                usage["ram"] += server["flavor"]["ram"]
        return usage

    # ------------------------------------------------------------------ tokens

    def token_issue(
        self,
        user_id: str,
        project_id: str | None,
        methods: list[str],
        app_credential_id: str | None = None,
    ) -> tuple[str, dict]:
        """Create a token for a user, scoped to a project or unscoped."""
        now = self.clock()
        token_id = "gAAAAA" + secrets.token_urlsafe(48)
        token = {
            "user_id": user_id,
            "project_id": project_id,
            "methods": methods,
            "issued_at": now,
            "expires_at": now + self.settings.token_ttl,
            "audit_id": secrets.token_urlsafe(16)[:22],
            "app_credential_id": app_credential_id,
        }
        self.tokens[token_id] = token
        return token_id, token

    def token_check(self, token_id: str | None) -> dict | None:
        """Return a live token's record, or None when missing, unknown or expired."""
        if not token_id:
            return None
        token = self.tokens.get(token_id)
        if token is None:
            return None
        if token["expires_at"] <= self.clock():
            del self.tokens[token_id]
            return None
        return token

    # ------------------------------------------------------------------ events

    def _schedule(self, due: float, kind: str, server_id: str) -> None:
        self._event_seq += 1
        heapq.heappush(self.events, (due, self._event_seq, kind, server_id))

    def settle(self) -> None:
        """Apply every transition that has come due (boots ending, deletions finishing)."""
        now = self.clock()
        while self.events and self.events[0][0] <= now:
            self.version += 1
            due, _seq, kind, server_id = heapq.heappop(self.events)
            server = self.servers.get(server_id)
            if server is None:
                continue
            if kind == "ready" and server["vm_state"] == "building":
                self._finish_boot(server, due)
            elif kind == "rebooted" and server["task_state"] in ("rebooting", "rebooting_hard"):
                server["task_state"] = None
                server["updated"] = due
            elif kind == "gone" and server["delete_at"] is not None:
                self.server_purge(server_id)

    def _finish_boot(self, server: dict, when: float) -> None:
        server["updated"] = when
        if server["task_state"] != "deleting":
            server["task_state"] = None
        if server["fate"] == "error":
            server["vm_state"] = "error"
            server["power_state"] = 0
            server["fault"] = {
                "code": 500,
                "created": when,
                "message": server["fault_message"] or DEFAULT_BOOT_FAULT,
            }
            # Nova gives the ports back when a build fails for good.
            for port_id in list(self.ports_by_device.get(server["id"], [])):
                self.port_delete(port_id)
        else:
            server["vm_state"] = "active"
            server["power_state"] = 1
            server["launched_at"] = when
            for port_id in self.ports_by_device.get(server["id"], []):
                self.ports[port_id]["status"] = "ACTIVE"

    # ------------------------------------------------------------------ servers

    def server_create(
        self,
        *,
        project_id: str,
        user_id: str,
        name: str,
        flavor: dict,
        image_id: str,
        networks: list[str],
        metadata: dict | None = None,
        tags: list[str] | None = None,
        key_name: str | None = None,
        availability_zone: str | None = None,
        description: str | None = None,
        reservation_id: str = "",
        launch_index: int = 0,
        boot_time: float | None = None,
        fate: str = "active",
        fault_message: str | None = None,
        status: str | None = None,
    ) -> dict:
        """Add one server in BUILD with a port on each of `networks`; it settles later.

        `status` ACTIVE or SHUTOFF makes a server that is already built (used by seeding).
        """
        now = self.clock()
        boot = self.settings.boot_time if boot_time is None else boot_time
        server_id = str(uuid.uuid4())
        host = "cloudsim-compute-%d" % (int(server_id[:4], 16) % 4)
        server = {
            "id": server_id,
            "name": name,
            "project_id": project_id,
            "user_id": user_id,
            "flavor": dict(flavor, extra_specs=dict(flavor.get("extra_specs", {}))),
            "image_id": image_id,
            "metadata": dict(metadata or {}),
            "tags": list(tags or []),
            "key_name": key_name,
            "availability_zone": availability_zone or "nova",
            "description": description,
            "reservation_id": reservation_id,
            "launch_index": launch_index,
            "host": host,
            "created": now,
            "updated": now,
            "launched_at": None,
            "vm_state": "building",
            "task_state": "spawning",
            "power_state": 0,
            "ready_at": now + max(boot, 0),
            "reboot_until": None,
            "fate": fate,
            "fault_message": fault_message,
            "fault": None,
            "delete_at": None,
            "locked": False,
            "admin_pass": secrets.token_urlsafe(9),
        }
        self.servers[server_id] = server
        for network_id in networks:
            self.port_create(
                project_id=project_id,
                network_id=network_id,
                device_id=server_id,
                device_owner="compute:" + server["availability_zone"],
            )

        if status in ("ACTIVE", "SHUTOFF", "ERROR"):
            server["fate"] = "error" if status == "ERROR" else "active"
            self._finish_boot(server, now)
            if status == "SHUTOFF":
                server["vm_state"] = "stopped"
                server["power_state"] = 4
        elif boot <= 0:
            self._finish_boot(server, now)
        else:
            self._schedule(now + boot, "ready", server_id)
        return server

    def server_delete(self, server_id: str) -> None:
        """Start deleting a server; it disappears after the configured delete time."""
        server = self.servers[server_id]
        if server["delete_at"] is not None:
            return
        now = self.clock()
        server["task_state"] = "deleting"
        server["updated"] = now
        if self.settings.delete_time <= 0:
            self.server_purge(server_id)
            return
        server["delete_at"] = now + self.settings.delete_time
        self._schedule(server["delete_at"], "gone", server_id)

    def server_purge(self, server_id: str) -> None:
        """Remove a server at once, with its ports; floating IPs on them are released."""
        self.servers.pop(server_id, None)
        for port_id in list(self.ports_by_device.get(server_id, [])):
            self.port_delete(port_id)
        self.ports_by_device.pop(server_id, None)

    def server_reboot(self, server: dict, hard: bool) -> None:
        """Put an active server through a reboot that ends after the reboot time."""
        now = self.clock()
        server["task_state"] = "rebooting_hard" if hard else "rebooting"
        server["updated"] = now
        duration = self.settings.reboot_time
        if duration is None:
            duration = self.settings.boot_time
        if duration <= 0:
            server["task_state"] = None
        else:
            server["reboot_until"] = now + duration
            self._schedule(server["reboot_until"], "rebooted", server["id"])

    # ------------------------------------------------------------------ network

    def _allocate_ip(self, subnet_id: str) -> str:
        subnet = self.subnets[subnet_id]
        pool = subnet["allocation_pools"][0]
        first = int(ipaddress.ip_address(pool["start"]))
        size = int(ipaddress.ip_address(pool["end"])) - first + 1
        used = self.ip_used[subnet_id]
        cursor = self.ip_cursor[subnet_id]
        for step in range(size):
            offset = (cursor + step) % size
            if offset not in used:
                used.add(offset)
                self.ip_cursor[subnet_id] = (offset + 1) % size
                return str(ipaddress.ip_address(first + offset))
        raise SimError(
            409,
            "No more IP addresses available on network %s." % subnet["network_id"],
            "IpAddressGenerationFailure",
        )

    def _release_ip(self, subnet_id: str, address: str) -> None:
        subnet = self.subnets.get(subnet_id)
        if subnet is None:
            return
        first = int(ipaddress.ip_address(subnet["allocation_pools"][0]["start"]))
        self.ip_used[subnet_id].discard(int(ipaddress.ip_address(address)) - first)

    def port_create(
        self,
        *,
        project_id: str,
        network_id: str,
        device_id: str = "",
        device_owner: str = "",
        name: str = "",
    ) -> dict:
        """Create a port with one fixed IP from the network's first subnet."""
        network = self.networks[network_id]
        if not network["subnets"]:
            raise SimError(400, "Network %s has no subnet." % network_id, "BadRequest")
        subnet_id = network["subnets"][0]
        now = self.clock()
        port_id = str(uuid.uuid4())
        mac = "fa:16:3e:%02x:%02x:%02x" % tuple(secrets.token_bytes(3))
        port = {
            "id": port_id,
            "name": name,
            "network_id": network_id,
            "project_id": project_id,
            "mac_address": mac,
            "fixed_ips": [{"subnet_id": subnet_id, "ip_address": self._allocate_ip(subnet_id)}],
            "device_id": device_id,
            "device_owner": device_owner,
            "status": "DOWN",
            "admin_state_up": True,
            "port_security_enabled": True,
            "security_groups": [derived_id("security_group", project_id)],
            "binding:vnic_type": "normal",
            "description": "",
            "tags": [],
            "created_at": now,
            "updated_at": now,
            "revision_number": 1,
        }
        self.ports[port_id] = port
        if device_id:
            self.ports_by_device.setdefault(device_id, []).append(port_id)
        return port

    def port_delete(self, port_id: str) -> None:
        """Delete a port, give back its IP and disassociate its floating IP (as Neutron)."""
        port = self.ports.pop(port_id, None)
        if port is None:
            return
        for fixed in port["fixed_ips"]:
            self._release_ip(fixed["subnet_id"], fixed["ip_address"])
        siblings = self.ports_by_device.get(port["device_id"])
        if siblings and port_id in siblings:
            siblings.remove(port_id)
        fip_id = self.fip_by_port.pop(port_id, None)
        if fip_id and fip_id in self.floating_ips:
            self._fip_detach(self.floating_ips[fip_id])

    def fip_create(
        self,
        *,
        project_id: str,
        network_id: str,
        description: str = "",
        port_id: str | None = None,
    ) -> dict:
        """Allocate a floating IP on an external network, within the project's quota."""
        limit = self.network_quota(project_id).get("floatingip", -1)
        used = sum(1 for f in self.floating_ips.values() if f["project_id"] == project_id)
        if limit >= 0 and used + 1 > limit:
            raise SimError(409, "Quota exceeded for resources: ['floatingip'].", "OverQuota")
        network = self.networks[network_id]
        subnet_id = network["subnets"][0]
        now = self.clock()
        fip = {
            "id": str(uuid.uuid4()),
            "floating_ip_address": self._allocate_ip(subnet_id),
            "floating_network_id": network_id,
            "subnet_id": subnet_id,
            "router_id": None,
            "port_id": None,
            "fixed_ip_address": None,
            "status": "DOWN",
            "project_id": project_id,
            "description": description,
            "dns_domain": "",
            "dns_name": "",
            "port_forwardings": [],
            "qos_policy_id": None,
            "tags": [],
            "created_at": now,
            "updated_at": now,
            "revision_number": 0,
        }
        self.floating_ips[fip["id"]] = fip
        if port_id:
            self.fip_attach(fip, port_id)
        return fip

    def fip_attach(self, fip: dict, port_id: str, fixed_ip: str | None = None) -> None:
        """Associate a floating IP with a port, as a Neutron PUT with a port_id does."""
        port = self.ports.get(port_id)
        if port is None:
            raise SimError(404, "Port %s could not be found." % port_id, "PortNotFound")
        holder = self.fip_by_port.get(port_id)
        if holder and holder != fip["id"]:
            raise SimError(
                409,
                "Cannot associate floating IP %s with port %s using fixed IP %s, as that "
                "fixed IP already has a floating IP on external network %s."
                % (
                    fip["floating_ip_address"],
                    port_id,
                    port["fixed_ips"][0]["ip_address"],
                    fip["floating_network_id"],
                ),
                "FloatingIPPortAlreadyAssociated",
            )
        addresses = [f["ip_address"] for f in port["fixed_ips"]]
        if fixed_ip and fixed_ip not in addresses:
            raise SimError(
                400,
                "Bad floatingip request: Port %s does not have fixed ip %s." % (port_id, fixed_ip),
                "BadRequest",
            )
        if fip["port_id"] and fip["port_id"] != port_id:
            self.fip_by_port.pop(fip["port_id"], None)
        router = next(
            (
                r
                for r in self.routers.values()
                if (r["external_gateway_info"] or {}).get("network_id")
                == fip["floating_network_id"]
            ),
            None,
        )
        fip.update(
            port_id=port_id,
            fixed_ip_address=fixed_ip or addresses[0],
            router_id=router["id"] if router else None,
            status="ACTIVE",
            updated_at=self.clock(),
        )
        fip["revision_number"] += 1
        self.fip_by_port[port_id] = fip["id"]

    def _fip_detach(self, fip: dict) -> None:
        fip.update(
            port_id=None,
            fixed_ip_address=None,
            router_id=None,
            status="DOWN",
            updated_at=self.clock(),
        )
        fip["revision_number"] += 1

    def fip_detach(self, fip: dict) -> None:
        """Disassociate a floating IP from its port."""
        if fip["port_id"]:
            self.fip_by_port.pop(fip["port_id"], None)
        self._fip_detach(fip)

    def fip_delete(self, fip_id: str) -> None:
        """Release a floating IP and its address."""
        fip = self.floating_ips.pop(fip_id)
        if fip["port_id"]:
            self.fip_by_port.pop(fip["port_id"], None)
        self._release_ip(fip["subnet_id"], fip["floating_ip_address"])

    # ------------------------------------------------------------------ persistence

    _SAVED = (
        "tokens",
        "app_credentials",
        "compute_quotas",
        "network_quotas",
        "servers",
        "ports",
        "floating_ips",
    )

    def dump(self) -> dict:
        """A JSON-ready copy of what changes at run time (the preset gives the rest)."""
        with self.lock:
            data = {name: copy.deepcopy(getattr(self, name)) for name in self._SAVED}
            data["ip_cursor"] = dict(self.ip_cursor)
        data["format"] = STATE_FORMAT
        return data

    def restore(self, data: dict) -> None:
        """Load what `dump` wrote, on top of a fresh seed from the preset."""
        if data.get("format") != STATE_FORMAT:
            raise ValueError("unknown cloudsim state format %r" % data.get("format"))
        with self.lock:
            self._seed(self.preset)
            for name in self._SAVED:
                setattr(self, name, data.get(name, {}))
            self.ip_cursor.update(data.get("ip_cursor", {}))
            for subnet_id in self.ip_used:
                self.ip_used[subnet_id] = set()
            for port in self.ports.values():
                for fixed in port["fixed_ips"]:
                    self._mark_used(fixed["subnet_id"], fixed["ip_address"])
                if port["device_id"]:
                    self.ports_by_device.setdefault(port["device_id"], []).append(port["id"])
            for fip in self.floating_ips.values():
                self._mark_used(fip["subnet_id"], fip["floating_ip_address"])
                if fip["port_id"]:
                    self.fip_by_port[fip["port_id"]] = fip["id"]
            for server in self.servers.values():
                if server["vm_state"] == "building":
                    self._schedule(server["ready_at"], "ready", server["id"])
                if server["task_state"] in ("rebooting", "rebooting_hard"):
                    self._schedule(server["reboot_until"], "rebooted", server["id"])
                if server["delete_at"] is not None:
                    self._schedule(server["delete_at"], "gone", server["id"])
            self.settle()

    def _mark_used(self, subnet_id: str, address: str) -> None:
        subnet = self.subnets.get(subnet_id)
        if subnet is not None:
            first = int(ipaddress.ip_address(subnet["allocation_pools"][0]["start"]))
            self.ip_used[subnet_id].add(int(ipaddress.ip_address(address)) - first)

    def save(self, path: str | os.PathLike) -> None:
        """Write the state to a JSON file atomically (a crash leaves the old file whole)."""
        data = self.dump()
        tmp = "%s.tmp" % os.fspath(path)
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)

    def load(self, path: str | os.PathLike) -> None:
        """Read a state file written by `save`."""
        with open(path, encoding="utf-8") as handle:
            self.restore(json.load(handle))
        logger.info("cloudsim state loaded from %s: %d servers", path, len(self.servers))
