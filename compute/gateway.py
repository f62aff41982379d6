"""The one door to OpenStack: every cloud call of the portal goes through `CloudGateway`.

It speaks the portal's terms (the servers of a stack, the address of an instance) and turns
openstacksdk's and keystoneauth's exceptions into two of ours: `CloudTransientError` (retry
later: the cloud is down, slow or busy) and `CloudPermanentError` (the cloud said no and will
say no again: over quota, bad request). No other module imports `openstack`.
"""

import logging
import threading
import time
from dataclasses import dataclass, field

import openstack
from django.conf import settings
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions

logger = logging.getLogger(__name__)

# Metadata keys that the portal writes on every server it creates.
STACK_KEY = "ipaas_stack"
OPERATION_KEY = "ipaas_operation"
# Server ids per port lookup: each is a repeated `device_id` in the query string, which must
# stay well under the usual 8 KiB limit of a request line.
PORT_LOOKUP_BATCH = 50


class CloudError(Exception):
    """A cloud call failed; `reason` is the cloud's own words, fit to show a tenant."""

    def __init__(self, reason: str, *, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class CloudTransientError(CloudError):
    """The call may work if tried again later."""


class CloudPermanentError(CloudError):
    """The call will fail again in the same way; the operation should fail with the reason."""


@dataclass(frozen=True)
class FlavorInfo:
    id: str
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int


@dataclass(frozen=True)
class ImageInfo:
    id: str
    name: str
    status: str
    min_disk_gb: int
    min_ram_mb: int


@dataclass(frozen=True)
class NetworkInfo:
    id: str
    name: str
    is_external: bool


@dataclass(frozen=True)
class ComputeLimits:
    max_instances: int
    used_instances: int
    max_cores: int
    used_cores: int
    max_ram_mb: int
    used_ram_mb: int


@dataclass(frozen=True)
class ServerInfo:
    """A server as the portal needs it: identity, state, addresses and fault."""

    id: str
    name: str
    status: str
    fixed_ip: str = ""
    floating_ip: str = ""
    fault: str = ""
    flavor_id: str = ""  # empty where the cloud names the flavor only (Nova 2.47 and later)
    flavor_name: str = ""
    created: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FloatingIpInfo:
    id: str
    address: str
    port_id: str | None
    description: str


def _reason_of(error: Exception) -> str:
    details = getattr(error, "details", None)
    message = str(details or getattr(error, "message", "") or error).strip()
    return message[:1000] or type(error).__name__


def _translate(error: Exception) -> CloudError:
    """Our exception for an SDK or transport exception."""
    if isinstance(error, CloudError):
        return error
    if isinstance(error, sdk_exceptions.HttpException):
        status = error.status_code or 0
        reason = _reason_of(error)
        if status in (401,) or status >= 500 or status in (408, 429):
            return CloudTransientError(reason, status=status)
        # 409 from Nova or Neutron is mostly "try again once the other action ends".
        if status == 409 and "quota" not in reason.lower():
            return CloudTransientError(reason, status=status)
        return CloudPermanentError(reason, status=status)
    if isinstance(error, ks_exceptions.ClientException | sdk_exceptions.SDKException):
        return CloudTransientError(_reason_of(error))
    if isinstance(error, OSError):
        return CloudTransientError(f"Cloud unreachable: {error}")
    return CloudPermanentError(_reason_of(error))


_connections: dict[tuple[str, str, str | None], openstack.connection.Connection] = {}
_connections_lock = threading.Lock()


def _connection(cloud_name: str, project_name: str, region_name: str | None = None):
    # Connections are made lazily in the process that uses them (never before a fork) and
    # reused: keystoneauth keeps the token and re-authenticates near its expiry.
    key = (cloud_name, project_name, region_name)
    with _connections_lock:
        conn = _connections.get(key)
        if conn is None:
            # Without a region of its own, the cloud's clouds.yaml entry says which.
            region = {"region_name": region_name} if region_name else {}
            conn = openstack.connect(
                cloud=cloud_name,
                project_name=project_name,
                **region,
                api_timeout=settings.CLOUD_API_TIMEOUT_SECONDS,
                # Never let the transport repeat a request on its own: a create that timed
                # out may have gone through, and only the portal knows to look first.
                connect_retries=0,
                status_code_retries=0,
            )
            _connections[key] = conn
        return conn


def forget_connections() -> None:
    """Drop cached connections (after clouds.yaml changed, or between tests)."""
    with _connections_lock:
        _connections.clear()


class CloudGateway:
    """Cloud calls on behalf of one OpenStack project, through its cloud's clouds.yaml entry,
    in the given region (clouds.yaml's own when None)."""

    def __init__(self, *, cloud_name: str, project_name: str, region_name: str | None = None):
        self.cloud_name = cloud_name
        self.project_name = project_name
        self.region_name = region_name

    @property
    def conn(self):
        return _connection(self.cloud_name, self.project_name, self.region_name)

    # Called after every cloud call as observer(call, outcome, seconds); metrics listen here.
    observers: list = []

    def _call(self, what: str, func, *args, **kwargs):
        started, outcome = time.monotonic(), "ok"
        try:
            return func(*args, **kwargs)
        except Exception as error:
            translated = _translate(error)
            outcome = "transient" if isinstance(translated, CloudTransientError) else "permanent"
            logger.warning(
                "Cloud call failed cloud=%s project=%s call=%s transient=%s status=%s",
                self.cloud_name,
                self.project_name,
                what,
                isinstance(translated, CloudTransientError),
                translated.status,
            )
            raise translated from error
        finally:
            for observer in CloudGateway.observers:
                observer(what, outcome, time.monotonic() - started)

    # --- catalog ------------------------------------------------------------------------

    def project_id(self) -> str:
        return self._call("project_id", lambda: self.conn.current_project_id)

    def flavors(self) -> list[FlavorInfo]:
        def load():
            return [
                FlavorInfo(
                    id=str(f.id),
                    name=f.name,
                    vcpus=int(f.vcpus or 0),
                    ram_mb=int(f.ram or 0),
                    disk_gb=int(f.disk or 0),
                )
                for f in self.conn.compute.flavors(details=True)
            ]

        return self._call("flavors", load)

    def images(self) -> list[ImageInfo]:
        def load():
            return [
                ImageInfo(
                    id=image.id,
                    name=image.name or "",
                    status=image.status or "",
                    min_disk_gb=int(image.min_disk or 0),
                    min_ram_mb=int(image.min_ram or 0),
                )
                for image in self.conn.image.images()
            ]

        return self._call("images", load)

    def networks(self) -> list[NetworkInfo]:
        """The networks the project sees: where a Cloud row's network names must point."""

        def load():
            return [
                NetworkInfo(
                    id=network.id,
                    name=network.name or "",
                    is_external=bool(network.is_router_external),
                )
                for network in self.conn.network.networks()
            ]

        return self._call("networks", load)

    def limits(self) -> ComputeLimits:
        def load():
            absolute = self.conn.compute.get_limits().absolute
            return ComputeLimits(
                max_instances=int(absolute.instances),
                used_instances=int(absolute.instances_used or 0),
                max_cores=int(absolute.total_cores),
                used_cores=int(absolute.total_cores_used or 0),
                max_ram_mb=int(absolute.total_ram),
                used_ram_mb=int(absolute.total_ram_used or 0),
            )

        return self._call("limits", load)

    def member_names(self) -> list[str]:
        """Names of the Keystone users that hold a role in this project."""

        def load():
            identity = self.conn.identity
            project_id = self.conn.current_project_id
            user_ids = {
                assignment.user["id"]
                for assignment in identity.role_assignments(scope_project_id=project_id)
                if assignment.user
            }
            return sorted(user.name for user in identity.users() if user.id in user_ids)

        return self._call("member_names", load)

    # --- servers ------------------------------------------------------------------------

    def stack_servers(self, stack_name: str) -> list[ServerInfo]:
        """Every server of a stack, found by the tag written at creation: one list call."""

        def load():
            servers = self.conn.compute.servers(details=True, tags=stack_name)
            return [
                _server_info(server)
                for server in servers
                if (server.metadata or {}).get(STACK_KEY) == stack_name
            ]

        return self._call("stack_servers", load)

    def project_servers(self) -> list[ServerInfo]:
        """Every server of the project: what reconciliation compares the records with."""
        return self._call(
            "project_servers",
            lambda: [_server_info(server) for server in self.conn.compute.servers(details=True)],
        )

    def create_stack_servers(
        self,
        *,
        stack_name: str,
        operation_id: str,
        image_id: str,
        flavor_id: str,
        count: int,
        network_name: str,
    ) -> str:
        """One Nova multi-create for all of a stack's servers; returns the first server's id.

        Nova names them `<stack>-1 … <stack>-N` and answers with the first only: the caller
        finds the others with `stack_servers`.
        """

        def create():
            networks = "auto"
            if network_name:
                networks = [{"uuid": _network_id(self.conn, network_name)}]
            server = self.conn.compute.create_server(
                name=stack_name,
                image_id=image_id,
                flavor_id=flavor_id,
                networks=networks,
                min_count=count,
                max_count=count,
                metadata={STACK_KEY: stack_name, OPERATION_KEY: operation_id},
                tags=[stack_name],
            )
            return server.id

        return self._call("create_servers", create)

    def delete_server(self, server_id: str) -> None:
        self._call(
            "delete_server",
            lambda: self.conn.compute.delete_server(server_id, ignore_missing=True),
        )

    # --- addresses ----------------------------------------------------------------------

    def server_ports(self, server_ids: list[str]) -> dict[str, str]:
        """The port of each server that has one, in one call per batch of servers."""
        found: dict[str, str] = {}
        for start in range(0, len(server_ids), PORT_LOOKUP_BATCH):
            batch = server_ids[start : start + PORT_LOOKUP_BATCH]

            def find(batch=batch):
                return list(self.conn.network.ports(device_id=batch))

            for port in self._call("server_port", find):
                found.setdefault(port.device_id, port.id)
        return found

    def server_port_id(self, server_id: str) -> str | None:
        return self.server_ports([server_id]).get(server_id)

    def floating_ips(self, *, port_id: str | None = None, description: str | None = None):
        """The project's floating IPs, or those on a port or with a description."""

        def load():
            # The service account may be an admin, which Neutron shows every project's.
            query = {"project_id": self.conn.current_project_id}
            if port_id:
                query["port_id"] = port_id
            if description:
                query["description"] = description
            return [_floating_ip_info(ip) for ip in self.conn.network.ips(**query)]

        return self._call("floating_ips", load)

    def floating_network_id(self, network_name: str) -> str:
        """The id of the external network that floating IPs are allocated on."""
        return self._call(
            "floating_network",
            lambda: _network_id(self.conn, network_name),
        )

    def allocate_floating_ip(
        self, *, network_id: str, port_id: str, description: str
    ) -> FloatingIpInfo:
        """Allocate an address on the external network, associated to the port at once."""

        def allocate():
            ip = self.conn.network.create_ip(
                floating_network_id=network_id, port_id=port_id, description=description
            )
            return _floating_ip_info(ip)

        return self._call("allocate_floating_ip", allocate)

    def release_floating_ip(self, floating_ip_id: str) -> None:
        self._call(
            "release_floating_ip",
            lambda: self.conn.network.delete_ip(floating_ip_id, ignore_missing=True),
        )


def _network_id(conn, name_or_id: str) -> str:
    """A network's id, in one call when it is named; an id, or a name that matches none or
    several, goes through the SDK's own find, which says what is wrong in its words."""
    named = list(conn.network.networks(name=name_or_id))
    if len(named) == 1:
        return named[0].id
    return conn.network.find_network(name_or_id, ignore_missing=False).id


def _server_info(server) -> ServerInfo:
    fixed_ip = floating_ip = ""
    for addresses in (server.addresses or {}).values():
        for address in addresses:
            kind = address.get("OS-EXT-IPS:type")
            if kind == "floating" and not floating_ip:
                floating_ip = address.get("addr", "")
            elif kind != "floating" and not fixed_ip:
                fixed_ip = address.get("addr", "")
    fault = server.fault or {}
    flavor = server.flavor or {}
    # From microversion 2.47 Nova gives the flavor's name only, which the SDK answers as id.
    flavor_name = str(flavor.get("original_name") or "")
    flavor_id = "" if flavor_name else str(flavor.get("id") or "")
    return ServerInfo(
        id=server.id,
        name=server.name or "",
        status=(server.status or "").upper(),
        fixed_ip=fixed_ip,
        floating_ip=floating_ip,
        fault=(fault.get("message") or "") if isinstance(fault, dict) else str(fault),
        flavor_id=flavor_id,
        flavor_name=flavor_name,
        created=server.created_at or "",
        metadata=dict(server.metadata or {}),
    )


def _floating_ip_info(ip) -> FloatingIpInfo:
    return FloatingIpInfo(
        id=ip.id,
        address=ip.floating_ip_address or "",
        port_id=ip.port_id,
        description=ip.description or "",
    )
