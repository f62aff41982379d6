"""Read-only queries over a tenant's compute records, shared by the API and the pages."""

from django.db.models import QuerySet

from accounts.models import Tenant
from compute.models import Project


def project_list(*, tenant: Tenant) -> QuerySet[Project]:
    return Project.objects.filter(tenant=tenant).select_related("cloud").order_by("name")
