"""The compute endpoints of the seed's API under `/openstack/`, and the ones we add."""

from rest_framework.views import APIView

from accounts.selectors import tenant_of_request
from compute import selectors
from portal.api import envelope


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
