"""Read-only queries over a tenant's compute records, shared by the API and the pages.

Lookups by name resolve only among the tenant's own objects, so another tenant's project or
stack is simply not found.
"""

from django.db.models import Prefetch, QuerySet

from accounts.models import Tenant
from compute.models import AuditEvent, Instance, Operation, Project, Stack

AUDIT_PAGE = 100


def project_list(*, tenant: Tenant) -> QuerySet[Project]:
    return Project.objects.filter(tenant=tenant).select_related("cloud").order_by("name")


def project_get(*, tenant: Tenant, name: str) -> Project | None:
    return Project.objects.select_related("cloud").filter(tenant=tenant, name=name).first()


def stack_list(*, tenant: Tenant, project: Project | None = None) -> QuerySet[Stack]:
    """The tenant's stacks that still exist, each with its live instances prefetched."""
    stacks = Stack.objects.filter(project__tenant=tenant).exclude(state=Stack.State.DELETED)
    if project is not None:
        stacks = stacks.filter(project=project)
    live = Instance.objects.exclude(state=Instance.State.DELETED).order_by("name")
    return stacks.order_by("created").prefetch_related(Prefetch("instances", queryset=live))


def instance_addresses(*, tenant: Tenant, project: Project | None = None) -> dict:
    """`{stack_name: [{uid, ip, floating_ip}]}` of the tenant's live stacks, oldest first.

    The list endpoint answers this for every stack at once, so it reads plain rows: two
    queries whatever the number of stacks, and no model object per instance.
    """
    stacks = Stack.objects.filter(project__tenant=tenant).exclude(state=Stack.State.DELETED)
    if project is not None:
        stacks = stacks.filter(project=project)
    addresses: dict[str, list] = {
        name: [] for name in stacks.order_by("created", "id").values_list("name", flat=True)
    }
    rows = (
        Instance.objects.filter(stack__in=stacks)
        .exclude(state=Instance.State.DELETED)
        .order_by("name")
        .values_list("stack__name", "server_id", "fixed_ip", "floating_ip")
    )
    for stack_name, server_id, fixed_ip, floating_ip in rows:
        addresses[stack_name].append(
            {"uid": server_id, "ip": fixed_ip, "floating_ip": floating_ip}
        )
    return addresses


def stack_get(*, tenant: Tenant, name: str, project: Project | None = None) -> Stack | None:
    stacks = Stack.objects.select_related("project__cloud").filter(
        project__tenant=tenant, name=name
    )
    if project is not None:
        stacks = stacks.filter(project=project)
    return stacks.first()


def stack_detail(*, stack: Stack) -> dict:
    """A stack with its instances and its latest operation, as the API shows it."""
    operations = list(stack.operations.all()[:5])
    latest: Operation | None = operations[0] if operations else None
    return {
        "stack_name": stack.name,
        "project_name": stack.project.name,
        "state": stack.state,
        "error": stack.error,
        "image_id": stack.image_id,
        "flavor_id": stack.flavor_id,
        "instance_count": stack.instance_count,
        "floating_ip": stack.floating_ip,
        "created": stack.created.isoformat(),
        "updated": stack.updated.isoformat(),
        "instances": [
            {
                "uid": instance.server_id,
                "name": instance.name,
                "state": instance.state,
                "ip": instance.fixed_ip,
                "floating_ip": instance.floating_ip,
                "fault": instance.fault,
                "created": instance.created.isoformat(),
                "deleted": instance.deleted.isoformat() if instance.deleted else None,
            }
            for instance in stack.instances.order_by("name")
        ],
        "operation": _operation_detail(latest) if latest else None,
        "audit": [audit_detail(event) for event in audit_list(tenant_id=None, stack=stack)],
    }


def audit_list(
    *, tenant_id: int | None, project: Project | None = None, stack: Stack | None = None
) -> QuerySet[AuditEvent]:
    """The newest audit events of a tenant, a project or a stack, newest first."""
    events = AuditEvent.objects.select_related("actor_client")
    if tenant_id is not None:
        events = events.filter(tenant_id=tenant_id)
    if project is not None:
        events = events.filter(project=project)
    if stack is not None:
        events = events.filter(stack=stack)
    return events.order_by("-at", "-id")[:AUDIT_PAGE]


def audit_detail(event: AuditEvent) -> dict:
    return {
        "at": event.at.isoformat(),
        "action": event.action,
        "stack_name": event.stack_name,
        "actor": event.actor,
        "client_id": event.actor_client.client_id if event.actor_client else None,
        "request_id": event.request_id,
        "details": event.details,
    }


def _operation_detail(operation: Operation) -> dict:
    return {
        "id": str(operation.id),
        "kind": operation.kind,
        "state": operation.state,
        "step": operation.step,
        "error": operation.error,
        "attempts": operation.attempts,
        "steps": operation.history,
        "created": operation.created.isoformat(),
        "finished": operation.finished.isoformat() if operation.finished else None,
    }
