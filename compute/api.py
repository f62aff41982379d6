"""The compute endpoints of the seed's API under `/openstack/`, and the ones we add.

Lists answer from the database; only a create may wait on the cloud, and only when the
project's catalog must be refreshed to check the request. Each view's `extend_schema` is its
OpenAPI description (served at /api/schema/); the shapes and examples are real answers.
"""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.utils import inline_serializer as shape
from rest_framework import exceptions, serializers
from rest_framework.views import APIView

from accounts.selectors import tenant_of_request
from compute import selectors, services
from compute.serializers import (
    ProjectNameSerializer,
    StackCreateSerializer,
    StackDeleteSerializer,
)
from portal.api import ServiceUnavailable, envelope
from portal.openapi import PROJECT_NOT_FOUND, STACK_NOT_FOUND, errors, ok, project_name

# --- documented shapes and examples ---------------------------------------------------------

_STR, _INT, _BOOL = serializers.CharField, serializers.IntegerField, serializers.BooleanField
_ANY = serializers.JSONField
STACK = "stack_r-k3v9x0qa"
UUID = "6f1c2b1e-4b8e-4a53-9a55-1c1f2d9e7a10"
WHEN = "2026-01-05T10:00:00+00:00"
ADDRESS = shape("InstanceAddress", {"uid": _STR(), "ip": _STR(), "floating_ip": _STR()})
AUDIT_EVENT = shape(
    "AuditEvent",
    {"at": _STR(), "action": _STR(), "stack_name": _STR(), "actor": _STR(),
     "client_id": _STR(allow_null=True), "request_id": _STR(), "details": _ANY()},
)  # fmt: skip
AUDIT_EXAMPLE = {
    "at": WHEN, "action": "stack.create_requested", "stack_name": STACK,
    "actor": "client billing-robot", "client_id": "Xk2a9", "request_id": "a1b2c3",
    "details": {"image_id": UUID, "flavor_id": "1", "instance_count": 1,
                "floating_ip": False, "user_name": "demo"},
}  # fmt: skip
INSTANCE_EXAMPLE = {
    "uid": UUID, "name": f"{STACK}-1", "state": "ACTIVE", "ip": "10.0.0.12",
    "floating_ip": "", "fault": "", "created": WHEN, "deleted": None,
}  # fmt: skip
OPERATION_EXAMPLE = {
    "id": UUID, "kind": "CREATE", "state": "SUCCEEDED", "step": "finish", "error": "",
    "attempts": 0, "steps": [{"step": "requested", "at": WHEN, "note": "1 x flavor 1"}],
    "created": WHEN, "finished": WHEN,
}  # fmt: skip


REQUIRED = "This field is required."
PROJECT_ERRORS = errors(not_found=(PROJECT_NOT_FOUND,))
STACK_ERRORS = errors(not_found=(PROJECT_NOT_FOUND, STACK_NOT_FOUND))
CATALOG_ERRORS = errors(
    invalid={"project_name": REQUIRED}, not_found=(PROJECT_NOT_FOUND,), unreachable=True
)
NAMED_PROJECT = [project_name(True)]


def _parsed(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _request_fields(request) -> dict:
    """Query parameters overlaid with body fields: the seed's clients send either."""
    fields = {key: request.query_params.get(key) for key in request.query_params}
    data = request.data
    if hasattr(data, "dict"):
        data = data.dict()
    if isinstance(data, dict):
        fields.update(data)
    fields.pop("access_token", None)
    return fields


def _project(request, name: str):
    project = selectors.project_get(tenant=tenant_of_request(request), name=name)
    if project is None:
        raise exceptions.NotFound(PROJECT_NOT_FOUND)
    return project


@extend_schema(
    summary="The tenant's OpenStack projects (added).",
    responses={
        **ok(
            "ProjectList",
            shape("Projects", {"projects": shape("Project", {"name": _STR(), "id": _STR(),
                                                             "cloud": _STR()}, many=True)}),
            {"projects": [{"name": "devel", "id": UUID, "cloud": "cloudsim"}]},
        ),
        **errors(),
    },
)  # fmt: skip
class ProjectListView(APIView):
    """`GET /openstack/projects`: the caller's tenant's OpenStack projects (added)."""

    read_scope = "compute:read"

    def get(self, request):
        projects = selectors.project_list(tenant=tenant_of_request(request))
        data = {
            "projects": [
                {"name": project.name, "id": project.openstack_id, "cloud": project.cloud.name}
                for project in projects
            ]
        }
        return envelope(data)


@extend_schema(
    summary="Every live stack of the tenant with its servers' addresses (seed).",
    parameters=[project_name(False, "Only the stacks of this project.")],
    responses={
        **ok(
            "InstanceList",
            serializers.DictField(child=serializers.ListField(child=ADDRESS)),
            {STACK: [{"uid": UUID, "ip": "10.0.0.12", "floating_ip": "172.24.4.10"}]},
        ),
        **PROJECT_ERRORS,
    },
)
class InstanceListView(APIView):
    """`GET /openstack/instances`: `{stack_name: [{uid, ip, floating_ip}]}` for the tenant."""

    read_scope = "compute:read"

    def get(self, request):
        tenant = tenant_of_request(request)
        project = None
        if request.query_params.get("project_name"):
            project = _project(request, request.query_params["project_name"])
        return envelope(selectors.instance_addresses(tenant=tenant, project=project))


@extend_schema(
    summary="Create a stack; answers at once, the servers are built in the background (seed).",
    request={
        "application/x-www-form-urlencoded": StackCreateSerializer,
        "application/json": StackCreateSerializer,
    },
    responses={
        **ok(
            "StackCreated",
            shape("StackCreatedData", {"stack_name": _STR(), "state": _STR(),
                                       "status_url": _STR()}),
            {"stack_name": STACK, "state": "CREATING",
             "status_url": f"http://127.0.0.1:8000/openstack/stacks/{STACK}"},
        ),
        **errors(
            invalid={"instance_count": "Must be at most 20."},
            not_found=(PROJECT_NOT_FOUND,),
            unreachable=True,
        ),
    },
)  # fmt: skip
class StackCreateView(APIView):
    """`POST /openstack/compute`: record a stack and start building it; answers at once."""

    write_scope = "compute:write"

    def post(self, request):
        fields = _parsed(StackCreateSerializer, _request_fields(request))
        project = _project(request, fields["project_name"])
        stack_request = services.StackRequest(
            user_name=fields["user_name"],
            image_id=fields["image_id"],
            flavor_id=fields["flavor_id"],
            instance_count=fields["instance_count"],
            floating_ip=fields["floating_ip"],
            callback_url=fields["callback_url"],
        )
        try:
            services.stack_request_check(project=project, request=stack_request)
        except services.StackRequestInvalid as invalid:
            raise exceptions.ValidationError(invalid.errors) from invalid
        except services.CloudUnavailable as error:
            raise ServiceUnavailable(f"The cloud is unreachable: {error}") from error

        stack = services.stack_create(
            project=project,
            request=stack_request,
            client=request.auth.application,
            request_id=getattr(request, "request_id", ""),
        )
        status_url = reverse("api-stack-detail", args=[stack.name])
        return envelope(
            {
                "stack_name": stack.name,
                "state": stack.state,
                "status_url": request.build_absolute_uri(status_url),
            }
        )


@extend_schema(
    summary="Start deleting a stack; answers at once (seed).",
    parameters=[
        project_name(True),
        OpenApiParameter("stack_name", OpenApiTypes.STR, required=True),
        OpenApiParameter("callback_url", OpenApiTypes.URI, description="Told when deleted."),
    ],
    responses={
        **ok(
            "StackDeleting",
            shape("StackStateData", {"stack_name": _STR(), "state": _STR()}),
            {"stack_name": STACK, "state": "DELETING"},
        ),
        **errors(invalid={"stack_name": REQUIRED}, not_found=(PROJECT_NOT_FOUND, STACK_NOT_FOUND)),
    },
)
class StackDeleteView(APIView):
    """`DELETE /openstack/delete_instances`: start deleting a stack; answers at once."""

    write_scope = "compute:write"

    def delete(self, request):
        fields = _parsed(StackDeleteSerializer, _request_fields(request))
        project = _project(request, fields["project_name"])
        stack = selectors.stack_get(
            tenant=project.tenant, name=fields["stack_name"], project=project
        )
        if stack is None:
            raise exceptions.NotFound(STACK_NOT_FOUND)
        services.stack_delete(
            stack=stack,
            callback_url=fields["callback_url"],
            request_id=getattr(request, "request_id", ""),
            client=request.auth.application,
        )
        stack.refresh_from_db()
        return envelope({"stack_name": stack.name, "state": stack.state})


@extend_schema(
    summary="A stack: state, instances, its latest operation's steps and its audit trail.",
    parameters=[project_name(False)],
    responses={
        **ok(
            "StackDetail",
            shape(
                "StackDetailData",
                {"stack_name": _STR(), "project_name": _STR(), "state": _STR(), "error": _STR(),
                 "image_id": _STR(), "flavor_id": _STR(), "instance_count": _INT(),
                 "floating_ip": _BOOL(), "created": _STR(), "updated": _STR(),
                 "instances": serializers.ListField(child=_ANY()),
                 "operation": _ANY(allow_null=True), "audit": AUDIT_EVENT.__class__(many=True)},
            ),
            {"stack_name": STACK, "project_name": "devel", "state": "ACTIVE", "error": "",
             "image_id": UUID, "flavor_id": "1", "instance_count": 1, "floating_ip": False,
             "created": WHEN, "updated": WHEN, "instances": [INSTANCE_EXAMPLE],
             "operation": OPERATION_EXAMPLE, "audit": [AUDIT_EXAMPLE]},
        ),
        **STACK_ERRORS,
    },
)  # fmt: skip
class StackDetailView(APIView):
    """`GET /openstack/stacks/<stack_name>`: state, instances and the latest operation."""

    read_scope = "compute:read"

    def get(self, request, stack_name: str):
        tenant = tenant_of_request(request)
        project = None
        if request.query_params.get("project_name"):
            project = _project(request, request.query_params["project_name"])
        stack = selectors.stack_get(tenant=tenant, name=stack_name, project=project)
        if stack is None:
            raise exceptions.NotFound(STACK_NOT_FOUND)
        return envelope(selectors.stack_detail(stack=stack))


class _CatalogView(APIView):
    read_scope = "compute:read"
    part = ""

    def get(self, request):
        fields = _parsed(ProjectNameSerializer, request.query_params)
        project = _project(request, fields["project_name"])
        try:
            catalog = services.catalog_current(project=project)
        except services.CloudUnavailable as error:
            raise ServiceUnavailable(f"The cloud is unreachable: {error}") from error
        return envelope({self.part: getattr(catalog, self.part)})


@extend_schema(
    summary="The flavors a project may use (added).",
    parameters=NAMED_PROJECT,
    responses={
        **ok(
            "FlavorList",
            shape("Flavors", {"flavors": shape("Flavor", {"id": _STR(), "name": _STR(),
                  "vcpus": _INT(), "ram_mb": _INT(), "disk_gb": _INT()}, many=True)}),
            {"flavors": [{"id": "1", "name": "m1.tiny", "vcpus": 1, "ram_mb": 512,
                          "disk_gb": 1}]},
        ),
        **CATALOG_ERRORS,
    },
)  # fmt: skip
class FlavorListView(_CatalogView):
    """`GET /openstack/flavors?project_name=`: id, name, vcpus, ram_mb, disk_gb (added)."""

    part = "flavors"


@extend_schema(
    summary="The images a project may boot (added).",
    parameters=NAMED_PROJECT,
    responses={
        **ok(
            "ImageList",
            shape("Images", {"images": shape("Image", {"id": _STR(), "name": _STR(),
                  "status": _STR(), "min_disk_gb": _INT(), "min_ram_mb": _INT()}, many=True)}),
            {"images": [{"id": UUID, "name": "cirros", "status": "active", "min_disk_gb": 1,
                         "min_ram_mb": 0}]},
        ),
        **CATALOG_ERRORS,
    },
)  # fmt: skip
class ImageListView(_CatalogView):
    """`GET /openstack/images?project_name=`: id, name, status and minimums (added)."""

    part = "images"


@extend_schema(
    summary="The tenant's audit trail: who created or deleted which stack, when, and how.",
    parameters=[
        project_name(False, "Only this project's events."),
        OpenApiParameter("stack_name", OpenApiTypes.STR, description="Only this stack's."),
    ],
    responses={
        **ok(
            "AuditList",
            shape("AuditEvents", {"events": AUDIT_EVENT.__class__(many=True)}),
            {"events": [AUDIT_EXAMPLE]},
        ),
        **STACK_ERRORS,
    },
)
class AuditListView(APIView):
    """`GET /openstack/audit`: the newest 100 events of the tenant, a project or a stack."""

    read_scope = "compute:read"

    def get(self, request):
        tenant = tenant_of_request(request)
        project = stack = None
        if request.query_params.get("project_name"):
            project = _project(request, request.query_params["project_name"])
        if request.query_params.get("stack_name"):
            stack = selectors.stack_get(
                tenant=tenant, name=request.query_params["stack_name"], project=project
            )
            if stack is None:
                raise exceptions.NotFound(STACK_NOT_FOUND)
        events = selectors.audit_list(tenant_id=tenant.pk, project=project, stack=stack)
        return envelope({"events": [selectors.audit_detail(event) for event in events]})
