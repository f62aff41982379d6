"""Keystone v3 under /identity: version discovery, password, token and application
credential authentication, the service catalog, and read access to projects, users, roles
and role assignments.

Policy is simplified to two levels: a token holding the `admin` role on its project may
read everything; other tokens may read only their own user, projects and credentials.
"""

from __future__ import annotations

import secrets
import uuid

from werkzeug.routing import Rule

from cloudsim.app import Ctx, Endpoint, Reply
from cloudsim.state import SimError, SimState, derived_id, iso

UNAUTHORIZED = "The request you have made requires authentication."

# Service type, service name, path under the server's root.
CATALOG = (
    ("identity", "keystone", "/identity"),
    ("compute", "nova", "/compute/v2.1"),
    ("image", "glance", "/image"),
    ("network", "neutron", "/network"),
)

_MEDIA_TYPES = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]


def _version_doc(base: str) -> dict:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": base + "/identity/v3/"}],
        "media-types": _MEDIA_TYPES,
    }


def versions(ctx: Ctx) -> Reply:
    """The identity root lists the API versions (Keystone answers 300 Multiple Choices)."""
    return Reply(300, {"versions": {"values": [_version_doc(ctx.base)]}})


def version(ctx: Ctx) -> Reply:
    """The v3 version document; it needs no token, or keystoneauth would hang retrying."""
    return Reply(200, {"version": _version_doc(ctx.base)})


def catalog(state: SimState, base: str) -> list[dict]:
    """The service catalog with public, internal and admin endpoints in the one region."""
    entries = []
    for service_type, name, path in CATALOG:
        endpoints = [
            {
                "id": derived_id("endpoint", "%s-%s" % (name, interface), dashes=False),
                "interface": interface,
                "region": state.region,
                "region_id": state.region,
                "url": base + path,
            }
            for interface in ("public", "internal", "admin")
        ]
        entries.append(
            {
                "id": derived_id("service", name, dashes=False),
                "type": service_type,
                "name": name,
                "endpoints": endpoints,
            }
        )
    return entries


def _domain_ref(state: SimState, domain_id: str) -> dict:
    domain = state.domains[domain_id]
    return {"id": domain["id"], "name": domain["name"]}


def token_body(state: SimState, token: dict, base: str) -> dict:
    """The body Keystone answers a token request or a token validation with."""
    user = state.users[token["user_id"]]
    body = {
        "methods": token["methods"],
        "user": {
            "id": user["id"],
            "name": user["name"],
            "domain": _domain_ref(state, user["domain_id"]),
            "password_expires_at": None,
        },
        "audit_ids": [token["audit_id"]],
        "issued_at": iso(token["issued_at"], micro=True),
        "expires_at": iso(token["expires_at"], micro=True),
    }
    if token["project_id"] is not None:
        project = state.projects[token["project_id"]]
        body["project"] = {
            "id": project["id"],
            "name": project["name"],
            "domain": _domain_ref(state, project["domain_id"]),
        }
        body["is_domain"] = False
        body["roles"] = [
            {"id": role_id, "name": state.roles[role_id]["name"]}
            for role_id in _role_ids(state, token["user_id"], token["project_id"])
        ]
        body["catalog"] = catalog(state, base)
    if token.get("app_credential_id"):
        cred = state.app_credentials.get(token["app_credential_id"], {})
        body["application_credential"] = {
            "id": token["app_credential_id"],
            "name": cred.get("name"),
            "restricted": not cred.get("unrestricted", False),
        }
    return {"token": body}


def _role_ids(state: SimState, user_id: str, project_id: str) -> list[str]:
    return [
        a["role_id"]
        for a in state.assignments
        if a["user_id"] == user_id and a["project_id"] == project_id
    ]


def _find_domain(state: SimState, ref: dict | None) -> str | None:
    if not ref:
        return None
    if "id" in ref:
        return ref["id"] if ref["id"] in state.domains else None
    return next((d["id"] for d in state.domains.values() if d["name"] == ref.get("name")), None)


def _find_user(state: SimState, ref: dict) -> dict | None:
    if "id" in ref:
        return state.users.get(ref["id"])
    domain_id = _find_domain(state, ref.get("domain"))
    return next(
        (
            u
            for u in state.users.values()
            if u["name"] == ref.get("name") and u["domain_id"] == domain_id
        ),
        None,
    )


def _find_project(state: SimState, ref: dict) -> dict | None:
    if "id" in ref:
        return state.projects.get(ref["id"])
    domain_id = _find_domain(state, ref.get("domain"))
    return next(
        (
            p
            for p in state.projects.values()
            if p["name"] == ref.get("name") and p["domain_id"] == domain_id
        ),
        None,
    )


def _authenticate(state: SimState, identity: dict) -> tuple[dict, list[str], dict | None]:
    """Check the identity part of a token request: (user, methods, application credential)."""
    methods = identity.get("methods") or []
    if "password" in methods:
        ref = (identity.get("password") or {}).get("user") or {}
        user = _find_user(state, ref)
        if user is None or not secrets.compare_digest(
            str(ref.get("password", "")), user["password"]
        ):
            raise SimError(401, UNAUTHORIZED)
        return user, ["password"], None
    if "token" in methods:
        token = state.token_check((identity.get("token") or {}).get("id"))
        if token is None:
            raise SimError(401, UNAUTHORIZED)
        return state.users[token["user_id"]], ["token", *token["methods"]], None
    if "application_credential" in methods:
        ref = identity.get("application_credential") or {}
        cred = state.app_credentials.get(ref.get("id", ""))
        if cred is None and "name" in ref:
            user = _find_user(state, ref.get("user") or {})
            cred = next(
                (
                    c
                    for c in state.app_credentials.values()
                    if user and c["user_id"] == user["id"] and c["name"] == ref["name"]
                ),
                None,
            )
        if cred is None or not secrets.compare_digest(str(ref.get("secret", "")), cred["secret"]):
            raise SimError(401, UNAUTHORIZED)
        if cred["expires_at"] is not None and cred["expires_at"] <= state.clock():
            raise SimError(401, UNAUTHORIZED)
        return state.users[cred["user_id"]], ["application_credential"], cred
    raise SimError(401, UNAUTHORIZED)


def token_create(ctx: Ctx) -> Reply:
    """POST /v3/auth/tokens: authenticate and scope to a project (201, X-Subject-Token)."""
    state = ctx.state
    auth = ctx.body().get("auth")
    if not isinstance(auth, dict) or not isinstance(auth.get("identity"), dict):
        raise SimError(400, "Expecting to find auth.identity in request body.")
    user, methods, cred = _authenticate(state, auth["identity"])

    scope = auth.get("scope")
    if cred is not None:
        project_id = cred["project_id"]
    elif isinstance(scope, dict) and "project" in scope:
        project = _find_project(state, scope["project"] or {})
        # Keystone answers the same 401 whether the project is missing or forbidden,
        # so that nobody can probe which projects exist.
        if project is None or not _role_ids(state, user["id"], project["id"]):
            raise SimError(401, UNAUTHORIZED)
        project_id = project["id"]
    elif scope in (None, "unscoped"):
        # Like Keystone, a request without a scope gets the user's default project.
        default = user.get("default_project_id")
        project_id = default if scope is None and default in state.projects else None
        if project_id and not _role_ids(state, user["id"], project_id):
            project_id = None
    else:
        # Limitation: only project scope exists here; domain and system scopes answer 401.
        raise SimError(401, UNAUTHORIZED)

    token_id, token = state.token_issue(
        user["id"], project_id, methods, cred["id"] if cred else None
    )
    return Reply(201, token_body(state, token, ctx.base), {"X-Subject-Token": token_id})


def token_show(ctx: Ctx) -> Reply:
    """GET /v3/auth/tokens: validate the token named in X-Subject-Token."""
    subject = ctx.state.token_check(ctx.request.headers.get("X-Subject-Token"))
    if subject is None:
        raise SimError(404, "Could not find token.")
    return Reply(
        200,
        token_body(ctx.state, subject, ctx.base),
        {"X-Subject-Token": ctx.request.headers["X-Subject-Token"]},
    )


def token_delete(ctx: Ctx) -> Reply:
    """DELETE /v3/auth/tokens: revoke the token named in X-Subject-Token."""
    subject = ctx.request.headers.get("X-Subject-Token", "")
    if ctx.state.token_check(subject) is None:
        raise SimError(404, "Could not find token.")
    del ctx.state.tokens[subject]
    return Reply(204)


def auth_catalog(ctx: Ctx) -> Reply:
    return Reply(200, {"catalog": catalog(ctx.state, ctx.base), "links": _links(ctx)})


def auth_projects(ctx: Ctx) -> Reply:
    """The projects the token's user may scope to."""
    return _user_projects(ctx, ctx.user_id)


def _links(ctx: Ctx) -> dict:
    return {"self": ctx.request.base_url, "previous": None, "next": None}


def _forbid(action: str) -> SimError:
    return SimError(
        403, "You are not authorized to perform the requested action: identity:%s." % action
    )


def _self_link(ctx: Ctx, kind: str, object_id: str) -> dict:
    return {"self": "%s/identity/v3/%s/%s" % (ctx.base, kind, object_id)}


def _project_view(ctx: Ctx, project: dict) -> dict:
    view = {k: project[k] for k in ("id", "name", "domain_id", "description", "enabled")}
    view.update(
        is_domain=False,
        parent_id=project["parent_id"],
        tags=list(project["tags"]),
        options={},
        links=_self_link(ctx, "projects", project["id"]),
    )
    return view


def _user_view(ctx: Ctx, user: dict) -> dict:
    view = {k: user[k] for k in ("id", "name", "domain_id", "enabled", "password_expires_at")}
    if user.get("email"):
        view["email"] = user["email"]
    if user.get("default_project_id"):
        view["default_project_id"] = user["default_project_id"]
    view["options"] = {}
    view["links"] = _self_link(ctx, "users", user["id"])
    return view


def _filtered(ctx: Ctx, items, fields: tuple[str, ...]) -> list[dict]:
    """Keep the items whose fields equal the query's (booleans compared as text)."""
    wanted = {name: ctx.query(name) for name in fields if ctx.query(name) is not None}

    def keep(item: dict) -> bool:
        for name, value in wanted.items():
            have = item.get(name)
            if isinstance(have, bool):
                if str(have).lower() != value.lower():
                    return False
            elif have != value:
                return False
        return True

    return [item for item in items if keep(item)]


def projects_list(ctx: Ctx) -> Reply:
    if not ctx.is_admin:
        raise _forbid("list_projects")
    items = _filtered(ctx, ctx.state.projects.values(), ("name", "domain_id", "enabled"))
    return Reply(200, {"projects": [_project_view(ctx, p) for p in items], "links": _links(ctx)})


def project_show(ctx: Ctx, project_id: str) -> Reply:
    project = ctx.state.projects.get(project_id)
    if project is None:
        if not ctx.is_admin:
            raise _forbid("get_project")
        raise SimError(404, "Could not find project: %s." % project_id)
    if not ctx.is_admin and project_id != ctx.project_id:
        raise _forbid("get_project")
    return Reply(200, {"project": _project_view(ctx, project)})


def users_list(ctx: Ctx) -> Reply:
    if not ctx.is_admin:
        raise _forbid("list_users")
    items = _filtered(ctx, ctx.state.users.values(), ("name", "domain_id", "enabled"))
    return Reply(200, {"users": [_user_view(ctx, u) for u in items], "links": _links(ctx)})


def user_show(ctx: Ctx, user_id: str) -> Reply:
    if not ctx.is_admin and user_id != ctx.user_id:
        raise _forbid("get_user")
    user = ctx.state.users.get(user_id)
    if user is None:
        raise SimError(404, "Could not find user: %s." % user_id)
    return Reply(200, {"user": _user_view(ctx, user)})


def user_projects(ctx: Ctx, user_id: str) -> Reply:
    if not ctx.is_admin and user_id != ctx.user_id:
        raise _forbid("list_user_projects")
    if user_id not in ctx.state.users:
        raise SimError(404, "Could not find user: %s." % user_id)
    return _user_projects(ctx, user_id)


def _user_projects(ctx: Ctx, user_id: str) -> Reply:
    project_ids = []
    for assignment in ctx.state.assignments:
        if assignment["user_id"] == user_id and assignment["project_id"] not in project_ids:
            project_ids.append(assignment["project_id"])
    projects = [_project_view(ctx, ctx.state.projects[pid]) for pid in project_ids]
    return Reply(200, {"projects": projects, "links": _links(ctx)})


def _role_view(ctx: Ctx, role: dict) -> dict:
    return {
        "id": role["id"],
        "name": role["name"],
        "domain_id": None,
        "description": None,
        "options": {},
        "links": _self_link(ctx, "roles", role["id"]),
    }


def roles_list(ctx: Ctx) -> Reply:
    items = _filtered(ctx, ctx.state.roles.values(), ("name",))
    return Reply(200, {"roles": [_role_view(ctx, r) for r in items], "links": _links(ctx)})


def role_show(ctx: Ctx, role_id: str) -> Reply:
    role = ctx.state.roles.get(role_id)
    if role is None:
        raise SimError(404, "Could not find role: %s." % role_id)
    return Reply(200, {"role": _role_view(ctx, role)})


def domains_list(ctx: Ctx) -> Reply:
    items = _filtered(ctx, ctx.state.domains.values(), ("name", "enabled"))
    domains = [
        {
            **d,
            "description": "",
            "tags": [],
            "options": {},
            "links": _self_link(ctx, "domains", d["id"]),
        }
        for d in items
    ]
    return Reply(200, {"domains": domains, "links": _links(ctx)})


def domain_show(ctx: Ctx, domain_id: str) -> Reply:
    domain = ctx.state.domains.get(domain_id)
    if domain is None:
        raise SimError(404, "Could not find domain: %s." % domain_id)
    view = {**domain, "description": "", "tags": [], "options": {}}
    view["links"] = _self_link(ctx, "domains", domain_id)
    return Reply(200, {"domain": view})


def role_assignments(ctx: Ctx) -> Reply:
    """GET /v3/role_assignments with user.id, scope.project.id and role.id filters."""
    state = ctx.state
    user_id = ctx.query("user.id")
    project_id = ctx.query("scope.project.id")
    role_id = ctx.query("role.id")
    # Non-admins may ask only about themselves, which is enough to check a membership.
    if not ctx.is_admin and user_id != ctx.user_id:
        raise _forbid("list_role_assignments")
    names = ctx.query("include_names") not in (None, "0", "false", "False")
    if ctx.query("group.id") or ctx.query("scope.domain.id") or ctx.query("scope.system"):
        return Reply(200, {"role_assignments": [], "links": _links(ctx)})

    result = []
    for assignment in state.assignments:
        if user_id and assignment["user_id"] != user_id:
            continue
        if project_id and assignment["project_id"] != project_id:
            continue
        if role_id and assignment["role_id"] != role_id:
            continue
        role = {"id": assignment["role_id"]}
        user = {"id": assignment["user_id"]}
        project = {"id": assignment["project_id"]}
        if names:
            role["name"] = state.roles[role["id"]]["name"]
            user_rec = state.users[user["id"]]
            user.update(name=user_rec["name"], domain=_domain_ref(state, user_rec["domain_id"]))
            proj_rec = state.projects[project["id"]]
            project.update(name=proj_rec["name"], domain=_domain_ref(state, proj_rec["domain_id"]))
        link = "%s/identity/v3/projects/%s/users/%s/roles/%s" % (
            ctx.base,
            project["id"],
            user["id"],
            role["id"],
        )
        result.append(
            {
                "role": role,
                "user": user,
                "scope": {"project": project},
                "links": {"assignment": link},
            }
        )
    return Reply(200, {"role_assignments": result, "links": _links(ctx)})


def project_user_roles(ctx: Ctx, project_id: str, user_id: str) -> Reply:
    if not ctx.is_admin and user_id != ctx.user_id:
        raise _forbid("list_grants")
    roles = [
        _role_view(ctx, ctx.state.roles[rid]) for rid in _role_ids(ctx.state, user_id, project_id)
    ]
    return Reply(200, {"roles": roles, "links": _links(ctx)})


def project_user_role_check(ctx: Ctx, project_id: str, user_id: str, role_id: str) -> Reply:
    if not ctx.is_admin and user_id != ctx.user_id:
        raise _forbid("check_grant")
    if role_id not in _role_ids(ctx.state, user_id, project_id):
        raise SimError(404, "Could not find role assignment.")
    return Reply(204)


def _app_cred_view(ctx: Ctx, cred: dict, *, secret: bool = False) -> dict:
    view = {
        "id": cred["id"],
        "name": cred["name"],
        "description": cred["description"],
        "user_id": cred["user_id"],
        "project_id": cred["project_id"],
        "expires_at": iso(cred["expires_at"], micro=True),
        "unrestricted": cred["unrestricted"],
        "roles": [_role_view(ctx, ctx.state.roles[r]) for r in cred["roles"]],
        "access_rules": [],
        "links": _self_link(ctx, "users/%s/application_credentials" % cred["user_id"], cred["id"]),
    }
    if secret:
        view["secret"] = cred["secret"]
    return view


def _own_user(ctx: Ctx, user_id: str) -> None:
    if user_id != ctx.user_id:
        raise _forbid("application_credentials")


def app_creds_list(ctx: Ctx, user_id: str) -> Reply:
    _own_user(ctx, user_id)
    creds = [c for c in ctx.state.app_credentials.values() if c["user_id"] == user_id]
    if ctx.query("name"):
        creds = [c for c in creds if c["name"] == ctx.query("name")]
    return Reply(
        200,
        {
            "application_credentials": [_app_cred_view(ctx, c) for c in creds],
            "links": _links(ctx),
        },
    )


def app_cred_create(ctx: Ctx, user_id: str) -> Reply:
    """Create an application credential bound to the token's project and roles."""
    _own_user(ctx, user_id)
    data = ctx.body().get("application_credential") or {}
    if not data.get("name"):
        raise SimError(400, "Invalid input for field 'name': a name is required.")
    if any(
        c["user_id"] == user_id and c["name"] == data["name"]
        for c in ctx.state.app_credentials.values()
    ):
        raise SimError(409, "Conflict occurred attempting to store application_credential.")
    cred = {
        "id": uuid.uuid4().hex,
        "name": data["name"],
        "description": data.get("description"),
        "user_id": user_id,
        "project_id": ctx.project_id,
        "secret": data.get("secret") or secrets.token_urlsafe(48),
        "expires_at": None,
        "unrestricted": bool(data.get("unrestricted", False)),
        "roles": _role_ids(ctx.state, user_id, ctx.project_id),
    }
    # Limitation: an expires_at in the request is ignored; credentials never expire.
    ctx.state.app_credentials[cred["id"]] = cred
    return Reply(201, {"application_credential": _app_cred_view(ctx, cred, secret=True)})


def app_cred_show(ctx: Ctx, user_id: str, cred_id: str) -> Reply:
    _own_user(ctx, user_id)
    cred = ctx.state.app_credentials.get(cred_id)
    if cred is None or cred["user_id"] != user_id:
        raise SimError(404, "Could not find Application Credential: %s." % cred_id)
    return Reply(200, {"application_credential": _app_cred_view(ctx, cred)})


def app_cred_delete(ctx: Ctx, user_id: str, cred_id: str) -> Reply:
    _own_user(ctx, user_id)
    cred = ctx.state.app_credentials.get(cred_id)
    if cred is None or cred["user_id"] != user_id:
        raise SimError(404, "Could not find Application Credential: %s." % cred_id)
    del ctx.state.app_credentials[cred_id]
    for token_id in [k for k, t in ctx.state.tokens.items() if t["app_credential_id"] == cred_id]:
        del ctx.state.tokens[token_id]
    return Reply(204)


def routes(state: SimState) -> list[Rule]:
    """The URL rules of the identity service."""

    def ep(handler, public=False) -> Endpoint:
        return Endpoint("identity", handler, public)

    v3 = "/identity/v3"
    creds = v3 + "/users/<user_id>/application_credentials"
    return [
        Rule("/identity", endpoint=ep(versions, True), methods=["GET"]),
        Rule(v3, endpoint=ep(version, True), methods=["GET"]),
        Rule(v3 + "/auth/tokens", endpoint=ep(token_create, True), methods=["POST"]),
        Rule(v3 + "/auth/tokens", endpoint=ep(token_show), methods=["GET"]),
        Rule(v3 + "/auth/tokens", endpoint=ep(token_delete), methods=["DELETE"]),
        Rule(v3 + "/auth/catalog", endpoint=ep(auth_catalog), methods=["GET"]),
        Rule(v3 + "/auth/projects", endpoint=ep(auth_projects), methods=["GET"]),
        Rule(v3 + "/projects", endpoint=ep(projects_list), methods=["GET"]),
        Rule(v3 + "/projects/<project_id>", endpoint=ep(project_show), methods=["GET"]),
        Rule(
            v3 + "/projects/<project_id>/users/<user_id>/roles",
            endpoint=ep(project_user_roles),
            methods=["GET"],
        ),
        Rule(
            v3 + "/projects/<project_id>/users/<user_id>/roles/<role_id>",
            endpoint=ep(project_user_role_check),
            methods=["GET", "HEAD"],
        ),
        Rule(v3 + "/users", endpoint=ep(users_list), methods=["GET"]),
        Rule(v3 + "/users/<user_id>", endpoint=ep(user_show), methods=["GET"]),
        Rule(v3 + "/users/<user_id>/projects", endpoint=ep(user_projects), methods=["GET"]),
        Rule(creds, endpoint=ep(app_creds_list), methods=["GET"]),
        Rule(creds, endpoint=ep(app_cred_create), methods=["POST"]),
        Rule(creds + "/<cred_id>", endpoint=ep(app_cred_show), methods=["GET"]),
        Rule(creds + "/<cred_id>", endpoint=ep(app_cred_delete), methods=["DELETE"]),
        Rule(v3 + "/roles", endpoint=ep(roles_list), methods=["GET"]),
        Rule(v3 + "/roles/<role_id>", endpoint=ep(role_show), methods=["GET"]),
        Rule(v3 + "/domains", endpoint=ep(domains_list), methods=["GET"]),
        Rule(v3 + "/domains/<domain_id>", endpoint=ep(domain_show), methods=["GET"]),
        Rule(v3 + "/role_assignments", endpoint=ep(role_assignments), methods=["GET"]),
    ]
