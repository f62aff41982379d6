"""The compute endpoints of the seed's API under `/openstack/`, and the ones we add.

Lists answer from the database; only a create may wait on the cloud, and only when the
project's catalog must be refreshed to check the request.
"""

from django.urls import reverse
from rest_framework import exceptions
from rest_framework.views import APIView

from accounts.selectors import tenant_of_request
from compute import selectors, services
from compute.serializers import (
    ProjectNameSerializer,
    StackCreateSerializer,
    StackDeleteSerializer,
)
from portal.api import ServiceUnavailable, envelope

PROJECT_NOT_FOUND = "Project not found."
STACK_NOT_FOUND = "Stack not found."


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


class InstanceListView(APIView):
    """`GET /openstack/instances`: `{stack_name: [{uid, ip, floating_ip}]}` for the tenant."""

    read_scope = "compute:read"

    def get(self, request):
        tenant = tenant_of_request(request)
        project = None
        if request.query_params.get("project_name"):
            project = _project(request, request.query_params["project_name"])
        stacks = selectors.stack_list(tenant=tenant, project=project)
        data = {
            stack.name: [
                {"uid": i.server_id, "ip": i.fixed_ip, "floating_ip": i.floating_ip}
                for i in stack.instances.all()
            ]
            for stack in stacks
        }
        return envelope(data)


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
        )
        stack.refresh_from_db()
        return envelope({"stack_name": stack.name, "state": stack.state})


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


class FlavorListView(_CatalogView):
    """`GET /openstack/flavors?project_name=`: id, name, vcpus, ram_mb, disk_gb (added)."""

    part = "flavors"


class ImageListView(_CatalogView):
    """`GET /openstack/images?project_name=`: id, name, status and minimums (added)."""

    part = "images"
