"""The WSGI application: one URL map for every service, token checks, microversions,
injected faults, and errors in each service's own body format.

Handlers run under the state lock and return a `Reply` of plain data; the JSON is encoded
after the lock is released, so a large listing does not hold up other clients for long.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from cloudsim.faults import Faults
from cloudsim.state import SimError, SimState

logger = logging.getLogger(__name__)

COMPUTE_MIN_VERSION = (2, 1)
COMPUTE_MAX_VERSION = (2, 96)

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

# Nova names the top key of an error body after the kind of fault.
_NOVA_ERROR_KEYS = {
    400: "badRequest",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "notAcceptable",
    409: "conflictingRequest",
    413: "overLimit",
    503: "serviceUnavailable",
}

_NEUTRON_ERROR_TYPES = {
    400: "HTTPBadRequest",
    403: "HTTPForbidden",
    404: "HTTPNotFound",
    405: "HTTPMethodNotAllowed",
    409: "HTTPConflict",
    500: "HTTPInternalServerError",
    503: "HTTPServiceUnavailable",
}

SERVICES = ("identity", "compute", "image", "network")


class Reply(NamedTuple):
    """What a handler answers: status, a body (dict, str or None) and extra headers."""

    status: int
    body: Any = None
    headers: dict | None = None


@dataclass(frozen=True)
class Endpoint:
    """A route's handler and how the app must treat it before calling it."""

    service: str
    handler: Callable[..., Reply]
    public: bool = False


@dataclass
class Ctx:
    """One request as handlers see it."""

    request: Request
    state: SimState
    faults: Faults
    base: str
    token_id: str | None = None
    token: dict | None = None
    microversion: tuple[int, int] = COMPUTE_MIN_VERSION
    _roles: list[str] | None = field(default=None, repr=False)

    @property
    def user_id(self) -> str:
        return self.token["user_id"]

    @property
    def project_id(self) -> str | None:
        return self.token["project_id"]

    @property
    def roles(self) -> list[str]:
        """Role names the token's user holds on its project."""
        if self._roles is None:
            self._roles = self.state.role_names(self.user_id, self.project_id)
        return self._roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def mv(self, major: int, minor: int) -> bool:
        """True when the request's compute microversion is at least major.minor."""
        return self.microversion >= (major, minor)

    def body(self) -> dict:
        """The request's JSON body; a 400 when it is not a JSON object."""
        try:
            data = json.loads(self.request.get_data(as_text=True) or "null")
        except ValueError as exc:
            raise SimError(400, "Malformed request body: %s" % exc) from exc
        if not isinstance(data, dict):
            raise SimError(400, "Malformed request body: expected a JSON object")
        return data

    def query(self, name: str, default: str | None = None) -> str | None:
        return self.request.args.get(name, default)

    def query_list(self, name: str) -> list[str]:
        return self.request.args.getlist(name)


def service_of(path: str) -> str:
    """The service a path belongs to, from its first segment."""
    first = path.lstrip("/").split("/", 1)[0]
    if first in SERVICES or first == "_sim":
        return first
    return "root"


def error_reply(service: str, status: int, message: str, kind: str = "") -> Reply:
    """An error in the body format of the service that answers it."""
    title = _TITLES.get(status, "Error")
    if status == 401 or service in ("identity", "root", "_sim"):
        return Reply(status, {"error": {"code": status, "title": title, "message": message}})
    if service == "compute":
        key = _NOVA_ERROR_KEYS.get(status, "computeFault")
        return Reply(status, {key: {"code": status, "message": message}})
    if service == "network":
        kind = kind or _NEUTRON_ERROR_TYPES.get(status, "HTTPError")
        return Reply(status, {"NeutronError": {"type": kind, "message": message, "detail": ""}})
    # Glance answers errors as short plain text pages.
    return Reply(status, "%d %s\n\n%s\n\n   " % (status, title, message))


def _parse_microversion(request: Request) -> str | None:
    header = request.headers.get("OpenStack-API-Version", "")
    for part in header.split(","):
        words = part.split()
        if len(words) == 2 and words[0].lower() == "compute":
            return words[1]
    return request.headers.get("X-OpenStack-Nova-API-Version")


def negotiate_microversion(request: Request) -> tuple[int, int] | None:
    """The compute microversion asked for, or None when it is outside Nova's range."""
    raw = _parse_microversion(request)
    if not raw:
        return COMPUTE_MIN_VERSION
    if raw.lower() == "latest":
        return COMPUTE_MAX_VERSION
    try:
        major, minor = (int(x) for x in raw.split("."))
    except ValueError:
        return None
    wanted = (major, minor)
    if COMPUTE_MIN_VERSION <= wanted <= COMPUTE_MAX_VERSION:
        return wanted
    return None


class CloudApp:
    """The WSGI callable that serves every simulated service on one port."""

    def __init__(self, state: SimState, faults: Faults) -> None:
        # Imported here: the service modules import Reply and Ctx from this one.
        from cloudsim import compute, identity, image, network, sim_api

        self.state = state
        self.faults = faults
        rules: list[Rule] = []
        for module in (identity, compute, image, network, sim_api):
            rules.extend(module.routes(state))
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)

    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Answer one request, faults and all."""
        path = request.path
        service = service_of(path)
        if service != "_sim":
            delay, action = self.faults.on_call(service, request.method, path)
            if delay > 0:
                time.sleep(delay)
            if action == "drop":
                return self._drop(request)
            if action is not None:
                status = int(action)
                reply = error_reply(service, status, "cloudsim injected a %d fault." % status)
                return self._encode(reply)
        try:
            reply = self._dispatch(request, service)
        except SimError as exc:
            reply = error_reply(service, exc.status, exc.message, exc.kind)
        except Exception:
            logger.exception("cloudsim failed on %s %s", request.method, path)
            reply = error_reply(service, 500, "Unexpected error in cloudsim.")
        return self._encode(reply)

    def _dispatch(self, request: Request, service: str) -> Reply:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed:
            return error_reply(service, 405, "The method is not allowed for this resource.")
        except NotFound:
            return error_reply(service, 404, "The resource could not be found.")
        except HTTPException as exc:
            return error_reply(service, exc.code or 500, exc.description or "")

        ctx = Ctx(request, self.state, self.faults, request.host_url.rstrip("/"))
        extra_headers = {}
        if endpoint.service == "compute" and not endpoint.public:
            version = negotiate_microversion(request)
            if version is None:
                return error_reply(
                    "compute",
                    406,
                    "Version %s is not supported by the API. Minimum is %d.%d and maximum "
                    "is %d.%d."
                    % ((_parse_microversion(request), *COMPUTE_MIN_VERSION, *COMPUTE_MAX_VERSION)),
                )
            ctx.microversion = version
            text = "%d.%d" % version
            extra_headers = {
                "OpenStack-API-Version": "compute " + text,
                "X-OpenStack-Nova-API-Version": text,
                "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
            }

        with self.state.lock:
            self.state.settle()
            if not endpoint.public:
                ctx.token_id = request.headers.get("X-Auth-Token")
                ctx.token = self.state.token_check(ctx.token_id)
                scoped_only = endpoint.service != "identity"
                if ctx.token is None or (scoped_only and ctx.token["project_id"] is None):
                    reply = error_reply(
                        service, 401, "The request you have made requires authentication."
                    )
                    headers = {"WWW-Authenticate": 'Keystone uri="%s/identity"' % ctx.base}
                    return Reply(reply.status, reply.body, headers)
            reply = endpoint.handler(ctx, **args)
            if request.method not in ("GET", "HEAD"):
                self.state.version += 1

        if extra_headers:
            merged = dict(extra_headers)
            merged.update(reply.headers or {})
            reply = Reply(reply.status, reply.body, merged)
        return reply

    def _encode(self, reply: Reply) -> Response:
        if reply.body is None:
            response = Response(status=reply.status)
        elif isinstance(reply.body, str):
            response = Response(reply.body, status=reply.status, mimetype="text/plain")
        else:
            payload = json.dumps(reply.body, separators=(",", ":"))
            response = Response(payload, status=reply.status, mimetype="application/json")
        for key, value in (reply.headers or {}).items():
            response.headers[key] = value
        response.headers["X-Openstack-Request-Id"] = "req-" + str(uuid.uuid4())
        return response

    def _drop(self, request: Request) -> Response:
        # Closing the socket under the server makes its write fail; Werkzeug treats that
        # as a client that went away and stays quiet, and the client sees no answer at all.
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return Response(status=500)
