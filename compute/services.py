"""Business actions on stacks: create, delete, advance their operations, reconcile, refresh.

An operation is a small state machine. `operation_advance` runs one step of it while holding
the stack's row lock, and schedules the next run; every step first looks at what the cloud
already has (servers by the stack's tag, addresses by port), so a step that runs twice, after
a crash, a redelivery or a lost answer, never makes a second server or address.
"""

import hashlib
import hmac
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.models import ApiClient
from compute.gateway import (
    STACK_KEY,
    CloudError,
    CloudGateway,
    CloudPermanentError,
    CloudTransientError,
    ServerInfo,
)
from compute.models import (
    AuditEvent,
    Instance,
    Operation,
    OrphanServer,
    Project,
    ProjectCatalog,
    Stack,
    WebhookDelivery,
)
from compute.signals import instance_state_changed
from portal import metrics
from portal.logs import request_id_var

logger = logging.getLogger(__name__)

LIVE_INSTANCE_STATES = [
    state for state in Instance.State.values if state not in (Instance.State.DELETED,)
]
# Nova states the portal records as they are; anything else (e.g. REBOOT) counts as ACTIVE.
KNOWN_SERVER_STATES = {"BUILD", "ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED", "ERROR"}


class StackRequestInvalid(Exception):
    """A create request that the cloud would refuse; `errors` maps each field to its problem."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


class CloudUnavailable(Exception):
    """The cloud could not be asked what a request needs to know."""


def gateway_for(project: Project) -> CloudGateway:
    cloud = project.cloud
    return CloudGateway(
        cloud_name=cloud.name, project_name=project.name, region_name=cloud.region or None
    )


# --- catalog --------------------------------------------------------------------------------


def catalog_refresh(*, project: Project) -> ProjectCatalog:
    """Ask the cloud for the project's flavors, images, members and limits, and keep them."""
    gateway = gateway_for(project)
    limits = gateway.limits()
    values = {
        "flavors": [flavor.__dict__ for flavor in gateway.flavors()],
        "images": [image.__dict__ for image in gateway.images()],
        "member_names": gateway.member_names(),
        "limits": limits.__dict__,
        "refreshed": timezone.now(),
    }
    if not project.openstack_id:
        project.openstack_id = gateway.project_id()
        project.save(update_fields=["openstack_id"])
    catalog, _ = ProjectCatalog.objects.update_or_create(project=project, defaults=values)
    logger.info("Catalog refreshed project=%s tenant=%s", project.name, project.tenant_id)
    return catalog


def catalog_current(*, project: Project) -> ProjectCatalog:
    """The project's catalog, refreshed first when missing or older than its lifetime.

    A stale catalog is still used when the cloud cannot be reached to refresh it; a missing
    one raises `CloudUnavailable`.
    """
    catalog = ProjectCatalog.objects.filter(project=project).first()
    max_age = timedelta(seconds=settings.CATALOG_MAX_AGE_SECONDS)
    if catalog is not None and catalog.refreshed > timezone.now() - max_age:
        return catalog
    try:
        return catalog_refresh(project=project)
    except CloudError as error:
        if catalog is not None:
            logger.warning("Catalog stale, cloud unreachable project=%s", project.name)
            return catalog
        raise CloudUnavailable(error.reason) from error


# --- create and delete ----------------------------------------------------------------------


def _quota_problem(project: Project, catalog: ProjectCatalog, flavor: dict, count: int):
    limits = catalog.limits
    # Servers in use by flavor, in two aggregate queries however many stacks the project has.
    # Stacks still being built count in full: their servers may not be recorded yet.
    servers_by_flavor: Counter[str] = Counter()
    live = Instance.objects.filter(stack__project=project, state__in=LIVE_INSTANCE_STATES)
    for row in live.values("flavor_id").annotate(servers=Count("id")):
        servers_by_flavor[row["flavor_id"]] += row["servers"]
    building = Stack.objects.filter(project=project, state=Stack.State.CREATING)
    building = building.annotate(recorded=Count("instances"))
    for row in building.values("flavor_id", "instance_count", "recorded"):
        servers_by_flavor[row["flavor_id"]] += max(0, row["instance_count"] - row["recorded"])

    live_count = live_cores = live_ram = 0
    for flavor_id, servers in servers_by_flavor.items():
        known = catalog.flavor(flavor_id) or {"vcpus": 0, "ram_mb": 0}
        live_count += servers
        live_cores += servers * known["vcpus"]
        live_ram += servers * known["ram_mb"]

    checks = [
        ("instances", "max_instances", "used_instances", live_count, count),
        ("cores", "max_cores", "used_cores", live_cores, count * flavor["vcpus"]),
        ("RAM (MB)", "max_ram_mb", "used_ram_mb", live_ram, count * flavor["ram_mb"]),
    ]
    for label, max_key, used_key, live_used, asked in checks:
        maximum = limits.get(max_key, -1)
        if maximum is None or maximum < 0:
            continue  # unlimited
        used = max(limits.get(used_key, 0) or 0, live_used)
        if used + asked > maximum:
            return (
                f"Quota exceeded for {label}: {asked} requested, {used} in use, limit {maximum}."
            )
    return None


@dataclass(frozen=True)
class StackRequest:
    user_name: str
    image_id: str
    flavor_id: str
    instance_count: int
    floating_ip: bool
    callback_url: str = ""


def stack_request_check(*, project: Project, request: StackRequest) -> None:
    """Refuse a create that the cloud would refuse, from the cached catalog: no cloud call
    unless the catalog is missing or stale."""
    catalog = catalog_current(project=project)
    errors = {}
    flavor = catalog.flavor(request.flavor_id)
    if flavor is None:
        errors["flavor_id"] = f"Unknown flavor {request.flavor_id!r} for project {project.name}."
    image = catalog.image(request.image_id)
    if image is None:
        errors["image_id"] = f"Unknown image {request.image_id!r} for project {project.name}."
    elif image["status"] != "active":
        errors["image_id"] = f"Image {request.image_id!r} is {image['status']}, not active."
    if request.user_name not in catalog.member_names:
        errors["user_name"] = f"User {request.user_name!r} is not a member of {project.name}."
    if errors:
        raise StackRequestInvalid(errors)

    problem = _quota_problem(project, catalog, flavor, request.instance_count)
    if problem:
        raise StackRequestInvalid({"instance_count": problem})


@transaction.atomic
def stack_create(
    *,
    project: Project,
    request: StackRequest,
    client: ApiClient | None = None,
    user=None,
    request_id: str = "",
) -> Stack:
    """Record a new stack and start building it; the cloud work happens in a task.

    `client` or `user` is who asked, for the audit.
    """
    stack = Stack.objects.create(
        project=project,
        image_id=request.image_id,
        flavor_id=request.flavor_id,
        instance_count=request.instance_count,
        floating_ip=request.floating_ip,
        user_name=request.user_name,
        created_by_client=client,
    )
    operation = Operation.objects.create(
        stack=stack,
        kind=Operation.Kind.CREATE,
        step="create_servers",
        deadline=timezone.now() + timedelta(seconds=settings.STACK_BUILD_TIMEOUT_SECONDS),
        request_id=request_id,
        callback_url=request.callback_url,
    )
    _note(operation, "requested", f"{request.instance_count} x flavor {request.flavor_id}")
    _audit(
        operation,
        AuditEvent.Action.CREATE_REQUESTED,
        client=client,
        user=user,
        details={
            "image_id": request.image_id,
            "flavor_id": request.flavor_id,
            "instance_count": request.instance_count,
            "floating_ip": request.floating_ip,
            "user_name": request.user_name,
        },
    )
    _schedule(operation)
    logger.info(
        "Stack create requested stack=%s operation=%s project=%s tenant=%s request=%s",
        stack.name,
        operation.id,
        project.name,
        project.tenant_id,
        request_id,
    )
    return stack


@transaction.atomic
def stack_delete(
    *,
    stack: Stack,
    callback_url: str = "",
    request_id: str = "",
    force: bool = False,
    client: ApiClient | None = None,
    user=None,
) -> Operation:
    """Start deleting a stack; a second call while it is being deleted changes nothing.

    A deletion that failed does not count: asking again starts a new one. `force` starts a
    fresh deletion even when one is under way or a stack is DELETED, for operators clearing
    up after a failure. `client` or `user` is who asked, for the audit.
    """
    stack = Stack.objects.select_for_update().get(pk=stack.pk)
    current = stack.operations.filter(kind=Operation.Kind.DELETE).first()
    under_way = current is not None and not current.is_terminal
    if not force and current is not None and (under_way or stack.state == Stack.State.DELETED):
        return current

    for running in stack.operations.exclude(state__in=Operation.TERMINAL_STATES):
        _finish(running, Operation.State.CANCELLED, "Superseded by a delete.")
    stack.state = Stack.State.DELETING
    stack.save(update_fields=["state", "updated"])
    operation = Operation.objects.create(
        stack=stack,
        kind=Operation.Kind.DELETE,
        step="release_addresses",
        deadline=timezone.now() + timedelta(seconds=settings.STACK_DELETE_TIMEOUT_SECONDS),
        request_id=request_id,
        callback_url=callback_url,
    )
    _note(operation, "requested", "forced by an operator" if force else "")
    _audit(
        operation,
        AuditEvent.Action.DELETE_REQUESTED,
        client=client,
        user=user,
        details={"forced": True} if force else {},
    )
    _schedule(operation)
    logger.info(
        "Stack delete requested stack=%s operation=%s tenant=%s request=%s",
        stack.name,
        operation.id,
        stack.project.tenant_id,
        request_id,
    )
    return operation


# --- running operations ---------------------------------------------------------------------


@dataclass
class _Step:
    """What a step decided: the next step and when, or the end of the operation."""

    next_step: str | None = None
    countdown: float = 0.0
    done: bool = False


def operation_advance(*, operation_id: str, wakeup: str) -> None:
    """Run the operation's current step, if this call holds its current wakeup ticket."""
    with transaction.atomic():
        operation = (
            Operation.objects.select_related("stack__project__cloud")
            .filter(pk=operation_id)
            .first()
        )
        if operation is None or operation.is_terminal or str(operation.wakeup) != wakeup:
            return
        # The request that asked for the operation names every log line of its steps, also
        # when the watchdog, not that request's message chain, sent this one.
        if operation.request_id:
            request_id_var.set(operation.request_id)
        stack = _lock_stack(operation.stack_id)
        if stack is None:
            # Another step holds the stack (the other operation, or a duplicate of this
            # message): try again shortly; a duplicate is dropped once the ticket moves on.
            transaction.on_commit(lambda: _send(operation_id, wakeup, countdown=1.0))
            return
        operation.refresh_from_db()
        if operation.is_terminal or str(operation.wakeup) != wakeup:
            return
        operation.stack = stack
        _run_step(operation)


def _lock_stack(stack_id: int) -> Stack | None:
    """The stack, locked for this transaction; None when another transaction holds it."""
    return (
        Stack.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("project__cloud")
        .filter(pk=stack_id)
        .first()
    )


def _run_step(operation: Operation) -> None:
    step = STEPS[operation.step]
    if operation.state == Operation.State.PENDING:
        operation.state = Operation.State.RUNNING
    try:
        outcome = step(operation)
    except CloudTransientError as error:
        _on_transient(operation, error)
        return
    except CloudPermanentError as error:
        _on_failure(operation, error.reason)
        return

    operation.attempts = 0
    if outcome.done:
        return
    if outcome.next_step and outcome.next_step != operation.step:
        _note(operation, outcome.next_step)
        operation.step = outcome.next_step
    _schedule(operation, countdown=outcome.countdown)


def _on_transient(operation: Operation, error: CloudError) -> None:
    operation.attempts += 1
    operation.error = error.reason
    logger.warning(
        "Operation step failed, will retry operation=%s stack=%s step=%s attempt=%s",
        operation.id,
        operation.stack.name,
        operation.step,
        operation.attempts,
    )
    if operation.attempts >= settings.OPERATION_MAX_ATTEMPTS:
        _on_failure(operation, f"Gave up after {operation.attempts} tries: {error.reason}")
        return
    backoff = min(2.0 ** (operation.attempts - 1), settings.OPERATION_BACKOFF_MAX_SECONDS)
    _note(operation, "retry", f"attempt {operation.attempts}: {error.reason[:200]}")
    _schedule(operation, countdown=backoff)


def _on_failure(operation: Operation, reason: str) -> None:
    """A create that fails cleans up per the policy first; anything else fails at once."""
    stack = operation.stack
    operation.error = reason
    already_cleaning = operation.step.startswith("cleanup_")
    if operation.kind == Operation.Kind.CREATE and not already_cleaning:
        stack.error = reason
        stack.save(update_fields=["error", "updated"])
        operation.attempts = 0
        operation.deadline = timezone.now() + timedelta(
            seconds=settings.STACK_DELETE_TIMEOUT_SECONDS
        )
        _note(operation, "cleanup_release", f"failed: {reason[:300]}")
        operation.step = "cleanup_release"
        _schedule(operation)
        return

    if operation.kind == Operation.Kind.CREATE:
        stack.state = Stack.State.FAILED
        stack.error = stack.error or reason
    else:
        # A deletion that failed leaves servers in the cloud: the stack says so, and the
        # tenant may ask for the deletion again.
        stack.state = Stack.State.FAILED
        stack.error = reason
    stack.save(update_fields=["state", "error", "updated"])
    _finish(operation, Operation.State.FAILED, reason)


def _finish(operation: Operation, state: str, note: str = "") -> None:
    operation.state = state
    operation.finished = timezone.now()
    _note(operation, state.lower(), note)
    operation.save()
    logger.info(
        "Operation finished operation=%s stack=%s kind=%s state=%s",
        operation.id,
        operation.stack.name,
        operation.kind,
        state,
    )
    action = AUDITED_ENDS.get((operation.kind, state))
    if action:
        _audit(operation, action, details={"error": operation.error} if operation.error else {})
    _webhook_queue(operation)


# The end of an operation that the tenant's audit trail shows; a cancelled one is not news.
AUDITED_ENDS = {
    (Operation.Kind.CREATE, Operation.State.SUCCEEDED): AuditEvent.Action.ACTIVE,
    (Operation.Kind.CREATE, Operation.State.FAILED): AuditEvent.Action.FAILED,
    (Operation.Kind.DELETE, Operation.State.SUCCEEDED): AuditEvent.Action.DELETED,
    (Operation.Kind.DELETE, Operation.State.FAILED): AuditEvent.Action.DELETE_FAILED,
}


def _actor_name(client: ApiClient | None, user) -> str:
    if user is not None:
        return f"user {user.get_username()}"
    if client is not None:
        return f"client {client.name or client.client_id}"
    return "portal"


def _audit(
    operation: Operation,
    action: str,
    *,
    client: ApiClient | None = None,
    user=None,
    details: dict | None = None,
) -> AuditEvent:
    """Record an event of the operation's stack, in the caller's transaction.

    Without a client or a person, the event is credited to whoever asked for the operation:
    a stack that became ACTIVE is the doing of the client that asked for it.
    """
    if client is None and user is None:
        asked = (
            AuditEvent.objects.filter(operation=operation, action__endswith="_requested")
            .select_related("actor_client", "actor_user")
            .first()
        )
        if asked is not None:
            client, user = asked.actor_client, asked.actor_user
    stack = operation.stack
    return AuditEvent.objects.create(
        tenant_id=stack.project.tenant_id,
        project_id=stack.project_id,
        stack=stack,
        stack_name=stack.name,
        operation=operation,
        action=action,
        actor_client=client,
        actor_user=user,
        actor=_actor_name(client, user),
        request_id=operation.request_id,
        details=details or {},
    )


def _note(operation: Operation, step: str, note: str = "") -> None:
    operation.history = [
        *operation.history,
        {"step": step, "at": timezone.now().isoformat(), "note": note},
    ]


def _schedule(operation: Operation, *, countdown: float = 0.0) -> None:
    """Save the operation with a new wakeup ticket and send it after the commit."""
    operation.wakeup = uuid.uuid4()
    operation.save()
    operation_id, wakeup = str(operation.id), str(operation.wakeup)
    transaction.on_commit(lambda: _send(operation_id, wakeup, countdown=countdown))


def _send(operation_id: str, wakeup: str, *, countdown: float) -> None:
    from compute import tasks

    try:
        tasks.advance_operation.apply_async(
            (operation_id, wakeup), countdown=countdown, queue=tasks.queue("provisioning")
        )
    except Exception:
        # The operation row is the outbox: the watchdog sends it again once the broker is back.
        logger.exception("Could not queue operation=%s; the watchdog will retry", operation_id)


# --- the steps ------------------------------------------------------------------------------


def _cancelled_by_delete(operation: Operation) -> bool:
    return operation.kind == Operation.Kind.CREATE and operation.stack.state in (
        Stack.State.DELETING,
        Stack.State.DELETED,
    )


def _record_servers(operation: Operation, servers: list[ServerInfo]) -> dict[str, Instance]:
    """Bring the stack's instances in line with what the cloud lists; returns them by id."""
    stack = operation.stack
    instances = {i.server_id: i for i in stack.instances.all()}
    now = timezone.now()
    for server in servers:
        instance = instances.get(server.id)
        if instance is not None and instance.state == Instance.State.DELETED:
            continue  # surplus or gone: it stays deleted in the records while it goes
        if instance is None:
            instance = Instance(
                stack=stack,
                server_id=server.id,
                name=server.name,
                flavor_id=stack.flavor_id,
                image_id=stack.image_id,
                created=now,
            )
            _instance_set_state(instance, Instance.State.BUILD, at=now)
            instances[server.id] = instance
        _instance_observe(instance, server)
    # A recorded server the cloud no longer lists is gone.
    listed = {server.id for server in servers}
    for instance in instances.values():
        if instance.server_id not in listed and instance.state != Instance.State.DELETED:
            _instance_set_state(instance, Instance.State.DELETED, at=now)
    return instances


def _instance_observe(instance: Instance, server: ServerInfo) -> None:
    state = server.status if server.status in KNOWN_SERVER_STATES else Instance.State.ACTIVE
    if instance.state == Instance.State.DELETING:
        state = Instance.State.DELETING  # until the cloud stops listing it
    seen = (server.name or instance.name, server.fixed_ip or instance.fixed_ip, server.fault)
    details_changed = seen != (instance.name, instance.fixed_ip, instance.fault)
    instance.name, instance.fixed_ip, instance.fault = seen
    if instance.state != state:
        _instance_set_state(instance, state, at=timezone.now())
    elif details_changed:
        instance.save(update_fields=["name", "fixed_ip", "fault"])


def _instance_set_state(instance: Instance, state: str, *, at) -> None:
    """The one place an instance changes state: the change is saved and announced at once."""
    if instance.state == state and instance.pk is not None:
        return
    instance.state = state
    if state == Instance.State.DELETED:
        instance.deleted = at
    instance.save()
    instance_state_changed.send(sender=Instance, instance=instance, state=state, at=at)


def _step_create_servers(operation: Operation) -> _Step:
    stack = operation.stack
    if _cancelled_by_delete(operation):
        _finish(operation, Operation.State.CANCELLED, "The stack is being deleted.")
        return _Step(done=True)

    gateway = gateway_for(stack.project)
    # The last attempt's create may have succeeded though its answer was lost.
    servers = gateway.stack_servers(stack.name)
    if not servers:
        gateway.create_stack_servers(
            stack_name=stack.name,
            operation_id=str(operation.id),
            image_id=stack.image_id,
            flavor_id=stack.flavor_id,
            count=stack.instance_count,
            network_name=stack.project.cloud.network_name,
        )
        servers = gateway.stack_servers(stack.name)
    _record_servers(operation, servers)
    _note(operation, "servers_created", f"{len(servers)} server(s)")
    return _Step(next_step="wait_active", countdown=settings.CLOUD_POLL_SECONDS)


def _step_wait_active(operation: Operation) -> _Step:
    stack = operation.stack
    if _cancelled_by_delete(operation):
        _finish(operation, Operation.State.CANCELLED, "The stack is being deleted.")
        return _Step(done=True)

    gateway = gateway_for(stack.project)
    servers = _without_surplus(operation, gateway, gateway.stack_servers(stack.name))
    failed = [server for server in servers if server.status == "ERROR"]
    building = [server for server in servers if server.status == "BUILD"]
    if failed:
        faults = "; ".join(f"{s.name}: {s.fault or 'no reason given'}" for s in failed)
        raise CloudPermanentError(f"{len(failed)} of {len(servers)} server(s) failed: {faults}")
    if len(servers) < stack.instance_count:
        raise CloudPermanentError(
            f"The cloud made {len(servers)} of {stack.instance_count} servers."
        )
    if building:
        if timezone.now() > operation.deadline:
            raise CloudPermanentError(
                f"{len(building)} server(s) still building after "
                f"{settings.STACK_BUILD_TIMEOUT_SECONDS} s."
            )
        return _Step(countdown=settings.CLOUD_POLL_SECONDS)
    _note(operation, "servers_active", f"{len(servers)} server(s)")
    return _Step(next_step="attach_addresses" if stack.floating_ip else "finish")


def _without_surplus(operation: Operation, gateway, servers: list[ServerInfo]):
    """Record the stack's servers, deleting any beyond its count; returns the ones kept.

    Surplus appears when a create whose answer was lost (a timeout) still went through
    after it had been retried: the oldest servers are kept, the rest deleted.
    """
    stack = operation.stack
    instances = _record_servers(operation, servers)
    live = [s for s in servers if instances[s.id].state != Instance.State.DELETED]
    live.sort(key=lambda server: (server.created, server.name, server.id))
    kept, surplus = live[: stack.instance_count], live[stack.instance_count :]
    for server in surplus:
        gateway.delete_server(server.id)
        instance = instances[server.id]
        _instance_set_state(instance, Instance.State.DELETED, at=timezone.now())
        logger.warning("Surplus server deleted stack=%s server=%s", stack.name, server.id)
    if surplus:
        _note(operation, "surplus_deleted", f"{len(surplus)} server(s) beyond the count")
    return kept


def _floating_ip_description(stack: Stack, server_id: str) -> str:
    return f"ipaas {stack.name} {server_id}"


def _ports_and_addresses(gateway: CloudGateway, instances: list[Instance]):
    """The instances' ports and the project's floating IPs: two calls for a whole stack."""
    if not instances:
        return {}, []
    ports = gateway.server_ports([instance.server_id for instance in instances])
    return ports, gateway.floating_ips()


def _step_attach_addresses(operation: Operation) -> _Step:
    stack = operation.stack
    if _cancelled_by_delete(operation):
        _finish(operation, Operation.State.CANCELLED, "The stack is being deleted.")
        return _Step(done=True)

    gateway = gateway_for(stack.project)
    waiting = list(stack.instances.filter(state=Instance.State.ACTIVE, floating_ip_id=""))
    # An address from an earlier try is found by its port, or by its description if it was
    # allocated but its association did not hold.
    ports, existing = _ports_and_addresses(gateway, waiting)
    by_port = {ip.port_id: ip for ip in existing if ip.port_id}
    by_description = {ip.description: ip for ip in existing if ip.description}
    network_id = None
    for instance in waiting:
        port_id = ports.get(instance.server_id)
        if port_id is None:
            raise CloudTransientError(f"Server {instance.server_id} has no port yet.")
        description = _floating_ip_description(stack, instance.server_id)
        address = by_port.get(port_id) or by_description.get(description)
        if address is None:
            if network_id is None:
                network_id = gateway.floating_network_id(stack.project.cloud.floating_network_name)
            address = gateway.allocate_floating_ip(
                network_id=network_id, port_id=port_id, description=description
            )
        instance.floating_ip, instance.floating_ip_id = address.address, address.id
        instance.save(update_fields=["floating_ip", "floating_ip_id"])
    _note(operation, "addresses_attached", f"{len(waiting)} address(es)")
    return _Step(next_step="finish")


def _step_finish(operation: Operation) -> _Step:
    stack = operation.stack
    stack.state = Stack.State.ACTIVE
    stack.error = ""
    stack.save(update_fields=["state", "error", "updated"])
    operation.error = ""
    _finish(operation, Operation.State.SUCCEEDED)
    return _Step(done=True)


def _doomed(operation: Operation, instances):
    """The instances a deletion or a failed create's clean-up must remove."""
    if operation.kind == Operation.Kind.CREATE and settings.STACK_PARTIAL_FAILURE_POLICY == "keep":
        return [i for i in instances if i.state != Instance.State.ACTIVE]
    return list(instances)


def _step_release_addresses(operation: Operation) -> _Step:
    stack = operation.stack
    gateway = gateway_for(stack.project)
    doomed = _doomed(operation, stack.instances.exclude(state=Instance.State.DELETED))
    # An instance's addresses are those on its port, those with its description (an
    # allocation whose answer was lost) and the one recorded.
    ports, existing = _ports_and_addresses(gateway, doomed)
    for instance in doomed:
        port_id = ports.get(instance.server_id)
        description = _floating_ip_description(stack, instance.server_id)
        addresses = {
            ip.id
            for ip in existing
            if ip.description == description or (port_id and ip.port_id == port_id)
        }
        if instance.floating_ip_id:
            addresses.add(instance.floating_ip_id)
        for address_id in sorted(addresses):
            gateway.release_floating_ip(address_id)
        if instance.floating_ip_id:
            instance.floating_ip, instance.floating_ip_id = "", ""
            instance.save(update_fields=["floating_ip", "floating_ip_id"])
    return _Step(next_step=_next_cleanup(operation, "delete_servers"))


def _step_delete_servers(operation: Operation) -> _Step:
    stack = operation.stack
    gateway = gateway_for(stack.project)
    instances = _record_servers(operation, gateway.stack_servers(stack.name))
    doomed = _doomed(operation, [i for i in instances.values() if i.state != "DELETED"])
    for instance in doomed:
        gateway.delete_server(instance.server_id)
        _instance_set_state(instance, Instance.State.DELETING, at=timezone.now())
    return _Step(
        next_step=_next_cleanup(operation, "wait_deleted"), countdown=settings.CLOUD_POLL_SECONDS
    )


def _step_wait_deleted(operation: Operation) -> _Step:
    stack = operation.stack
    gateway = gateway_for(stack.project)
    servers = gateway.stack_servers(stack.name)
    instances = _record_servers(operation, servers)
    doomed = {i.server_id for i in _doomed(operation, instances.values())}
    remaining = [server for server in servers if server.id in doomed]
    if remaining:
        if timezone.now() > operation.deadline:
            raise CloudPermanentError(
                f"{len(remaining)} server(s) still present after the delete deadline."
            )
        return _Step(countdown=settings.CLOUD_POLL_SECONDS)

    if operation.kind == Operation.Kind.DELETE:
        stack.state = Stack.State.DELETED
        stack.save(update_fields=["state", "updated"])
        _finish(operation, Operation.State.SUCCEEDED)
    else:
        stack.state = Stack.State.FAILED
        stack.save(update_fields=["state", "updated"])
        _finish(operation, Operation.State.FAILED, operation.error)
    return _Step(done=True)


def _next_cleanup(operation: Operation, step: str) -> str:
    return f"cleanup_{step}" if operation.kind == Operation.Kind.CREATE else step


STEPS: dict[str, Callable[[Operation], _Step]] = {
    "create_servers": _step_create_servers,
    "wait_active": _step_wait_active,
    "attach_addresses": _step_attach_addresses,
    "finish": _step_finish,
    "release_addresses": _step_release_addresses,
    "delete_servers": _step_delete_servers,
    "wait_deleted": _step_wait_deleted,
    "cleanup_release": _step_release_addresses,
    "cleanup_delete_servers": _step_delete_servers,
    "cleanup_wait_deleted": _step_wait_deleted,
}


# --- repair ---------------------------------------------------------------------------------


@transaction.atomic
def operation_retry(*, operation: Operation, user=None) -> Operation:
    """Run a failed or cancelled operation again from its first step."""
    operation = Operation.objects.select_for_update().get(pk=operation.pk)
    if not operation.is_terminal:
        return operation
    stack = operation.stack
    first_step, stack_state, timeout = {
        Operation.Kind.CREATE: (
            "create_servers",
            Stack.State.CREATING,
            settings.STACK_BUILD_TIMEOUT_SECONDS,
        ),
        Operation.Kind.DELETE: (
            "release_addresses",
            Stack.State.DELETING,
            settings.STACK_DELETE_TIMEOUT_SECONDS,
        ),
    }[operation.kind]
    stack.state, stack.error = stack_state, ""
    stack.save(update_fields=["state", "error", "updated"])
    operation.state, operation.step, operation.attempts = Operation.State.RUNNING, first_step, 0
    operation.error, operation.finished = "", None
    operation.deadline = timezone.now() + timedelta(seconds=timeout)
    _note(operation, "retried")
    _audit(operation, AuditEvent.Action.OPERATION_RETRIED, user=user)
    _schedule(operation)
    logger.info("Operation retried operation=%s stack=%s", operation.id, stack.name)
    return operation


@transaction.atomic
def operation_mark_failed(*, operation: Operation, reason: str, user=None) -> None:
    """An operator's verdict on a stuck operation: it ends FAILED now, with the reason."""
    operation = Operation.objects.select_for_update().get(pk=operation.pk)
    if operation.is_terminal:
        return
    stack = operation.stack
    stack.state = Stack.State.FAILED
    stack.error = reason
    stack.save(update_fields=["state", "error", "updated"])
    operation.error = reason
    _audit(
        operation, AuditEvent.Action.OPERATION_MARKED_FAILED, user=user, details={"reason": reason}
    )
    _finish(operation, Operation.State.FAILED, reason)


def operation_record_crash(*, operation_id: str, wakeup: str) -> None:
    """Count an unexpected crash of a step, so that a poison operation ends instead of looping."""
    with transaction.atomic():
        operation = Operation.objects.select_for_update().filter(pk=operation_id).first()
        if operation is None or operation.is_terminal or str(operation.wakeup) != wakeup:
            return
        operation.attempts += 1
        if operation.attempts >= settings.OPERATION_MAX_ATTEMPTS:
            _on_failure(operation, "The portal failed on this step repeatedly; see its logs.")
            return
        backoff = min(2.0**operation.attempts, settings.OPERATION_BACKOFF_MAX_SECONDS)
        _schedule(operation, countdown=backoff)


def operations_watchdog() -> int:
    """Fail operations past their deadline, and wake those whose step has not moved in a
    while (a lost message, a dead worker).

    Returns how many were failed or woken. An operation whose stack is locked is being
    worked on. A create that fails here cleans up after itself, as on any other failure.
    """
    now = timezone.now()
    stalled_before = now - timedelta(seconds=settings.OPERATION_STALL_SECONDS)
    watched = Operation.objects.exclude(state__in=Operation.TERMINAL_STATES).filter(
        Q(updated__lt=stalled_before) | Q(deadline__lt=now)
    )
    handled = 0
    for operation_id, stack_id in watched.values_list("pk", "stack_id"):
        with transaction.atomic():
            stack = _lock_stack(stack_id)
            if stack is None:
                continue
            # Read under the stack's lock: a step that just ended may have moved it on.
            operation = Operation.objects.get(pk=operation_id)
            operation.stack = stack
            if operation.is_terminal:
                continue
            if operation.deadline < timezone.now():
                _operation_expire(operation)
                handled += 1
            elif operation.updated < stalled_before:
                _note(operation, "woken", "no progress; sent again")
                _schedule(operation)
                handled += 1
                logger.warning(
                    "Operation stalled, sent again operation=%s stack=%s step=%s",
                    operation.id,
                    stack.name,
                    operation.step,
                )
    return handled


def _operation_expire(operation: Operation) -> None:
    """Fail an operation that outlived its deadline, the way a step's failure would."""
    logger.warning(
        "Operation past its deadline, failed operation=%s stack=%s step=%s",
        operation.id,
        operation.stack.name,
        operation.step,
    )
    _on_failure(operation, f"No progress before the deadline (step {operation.step}).")


# --- reconciliation -------------------------------------------------------------------------


def project_reconcile(*, project: Project) -> dict[str, int]:
    """Compare the project's servers in the cloud with the records, and fix the records.

    Servers deleted or stopped outside the portal are recorded so; tagged servers of stacks
    the portal does not know are kept as orphans for an operator. Stacks with an operation
    under way are left to it; the servers of a stack whose deletion failed are watched again.
    """
    servers = gateway_for(project).project_servers()
    by_id = {server.id: server for server in servers}
    busy = Operation.objects.exclude(state__in=Operation.TERMINAL_STATES).values("stack_id")
    counts = {"gone": 0, "changed": 0, "orphans": 0}
    now = timezone.now()

    with transaction.atomic():
        watched = (
            Instance.objects.select_related("stack")
            .filter(stack__project=project, state__in=LIVE_INSTANCE_STATES)
            .exclude(stack__in=busy)
        )
        touched_stacks = set()
        for instance in watched:
            server = by_id.get(instance.server_id)
            if server is None:
                _instance_set_state(instance, Instance.State.DELETED, at=now)
                counts["gone"] += 1
                touched_stacks.add(instance.stack_id)
            elif server.status in KNOWN_SERVER_STATES and server.status != instance.state:
                _instance_set_state(instance, server.status, at=now)
                counts["changed"] += 1

        # A stack whose every server vanished is over, also one whose deletion had failed.
        settled = (Stack.State.ACTIVE, Stack.State.FAILED)
        for stack in Stack.objects.filter(pk__in=touched_stacks, state__in=settled):
            if not stack.instances.filter(state__in=LIVE_INSTANCE_STATES).exists():
                stack.state = Stack.State.DELETED
                stack.save(update_fields=["state", "updated"])
                _webhook_stack_gone(stack)
                logger.info("Stack deleted outside the portal stack=%s", stack.name)

        # A tagged server is an orphan when no record has it: its stack is unknown, or a
        # create went through after its stack had settled. Busy stacks may still adopt theirs.
        recorded = set(
            Instance.objects.filter(stack__project=project).values_list("server_id", flat=True)
        )
        busy_names = set(
            Stack.objects.filter(pk__in=busy, project=project).values_list("name", flat=True)
        )
        for server in servers:
            stack_name = server.metadata.get(STACK_KEY)
            if stack_name and server.id not in recorded and stack_name not in busy_names:
                OrphanServer.objects.update_or_create(
                    server_id=server.id,
                    defaults={
                        "project": project,
                        "name": server.name,
                        "stack_name": stack_name,
                        "status": server.status,
                    },
                )
                counts["orphans"] += 1
        OrphanServer.objects.filter(project=project).exclude(server_id__in=by_id).delete()

    logger.info(
        "Project reconciled project=%s tenant=%s gone=%s changed=%s orphans=%s",
        project.name,
        project.tenant_id,
        counts["gone"],
        counts["changed"],
        counts["orphans"],
    )
    return counts


# --- webhooks -------------------------------------------------------------------------------

WEBHOOK_EVENTS = {
    (Operation.Kind.CREATE, Operation.State.SUCCEEDED): "stack.active",
    (Operation.Kind.CREATE, Operation.State.FAILED): "stack.failed",
    (Operation.Kind.DELETE, Operation.State.SUCCEEDED): "stack.deleted",
    (Operation.Kind.DELETE, Operation.State.FAILED): "stack.delete_failed",
}


def _webhook_queue(operation: Operation, *, event: str | None = None) -> None:
    """Queue the event of the operation's end (or `event`) to its callback URL, once."""
    event = event or WEBHOOK_EVENTS.get((operation.kind, operation.state))
    if not operation.callback_url or event is None:
        return
    stack = operation.stack
    payload = {
        "event": event,
        "stack_name": stack.name,
        "project_name": stack.project.name,
        "state": stack.state,
        "operation_id": str(operation.id),
        "error": operation.error,
        "instances": [
            {"uid": i.server_id, "ip": i.fixed_ip, "floating_ip": i.floating_ip, "state": i.state}
            for i in stack.instances.exclude(state=Instance.State.DELETED)
        ],
        "at": timezone.now().isoformat(),
    }
    delivery, created = WebhookDelivery.objects.get_or_create(
        operation=operation,
        event=event,
        defaults={"url": operation.callback_url, "payload": payload},
    )
    if created:
        delivery_id = delivery.pk
        transaction.on_commit(lambda: _send_webhook(delivery_id, countdown=0))


def _webhook_stack_gone(stack: Stack) -> None:
    """Tell whoever asked for the stack's callbacks that it is gone, through the latest
    operation that gave a callback URL."""
    operation = stack.operations.exclude(callback_url="").first()
    if operation is not None:
        _webhook_queue(operation, event="stack.deleted")


def _send_webhook(delivery_id: int, *, countdown: float, attempts_before: int = 0) -> None:
    from compute import tasks

    try:
        tasks.deliver_webhook.apply_async(
            (delivery_id, attempts_before), countdown=countdown, queue=tasks.queue("webhooks")
        )
    except Exception:
        # The delivery row stays PENDING: the watchdog sends it again.
        logger.exception("Could not queue webhook delivery=%s", delivery_id)


def webhook_deliver(
    *, delivery_id: int, attempts_before: int | None = None
) -> tuple[float, int] | None:
    """POST one webhook; returns the seconds to wait before the next try and the attempts made
    so far, or None when there is nothing more to do.

    `attempts_before` is how many attempts the message that asks for this one expects were
    made: a duplicated or redelivered message for an attempt already made does nothing.
    """
    delivery = (
        WebhookDelivery.objects.select_related("operation__stack__created_by_client")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.state != WebhookDelivery.State.PENDING:
        return None
    if attempts_before is not None and delivery.attempts != attempts_before:
        return None
    # Of two copies of one message running at once, this conditional update lets one through.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, state=WebhookDelivery.State.PENDING, attempts=delivery.attempts
    ).update(attempts=F("attempts") + 1, updated=timezone.now())
    if not claimed:
        return None

    body = json.dumps(delivery.payload, sort_keys=True).encode()
    client = delivery.operation.stack.created_by_client
    secret = client.webhook_secret if client else ""
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ipaas-portal-webhook",
        "X-IPAAS-Event": delivery.event,
        "X-IPAAS-Delivery": str(delivery.pk),
        "X-IPAAS-Signature": f"sha256={signature}",
    }
    delivery.attempts += 1
    try:
        response = requests.post(
            delivery.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        delivery.last_status, delivery.last_error = response.status_code, ""
        ok = 200 <= response.status_code < 300
    except requests.RequestException as error:
        delivery.last_status, delivery.last_error = None, str(error)[:500]
        ok = False

    if ok:
        delivery.state = WebhookDelivery.State.DELIVERED
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.state = WebhookDelivery.State.FAILED
    delivery.save()
    metrics.webhook_attempt_observe(
        delivery.state.lower() if delivery.state != WebhookDelivery.State.PENDING else "retry"
    )
    logger.info(
        "Webhook attempt delivery=%s stack=%s event=%s status=%s state=%s",
        delivery.pk,
        delivery.operation.stack.name,
        delivery.event,
        delivery.last_status,
        delivery.state,
    )
    if delivery.state != WebhookDelivery.State.PENDING:
        return None
    return _webhook_backoff(delivery.attempts), delivery.attempts


def _webhook_backoff(attempts: int) -> float:
    """Seconds between a delivery's attempt number `attempts` and the next."""
    return min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2.0 ** (attempts - 1), 3600.0)


def webhooks_watchdog() -> int:
    """Send again the pending deliveries whose next attempt is overdue: a message lost with
    a killed worker, or never queued while the broker was down. Returns how many."""
    now = timezone.now()
    stall = timedelta(seconds=settings.OPERATION_STALL_SECONDS)
    resent = 0
    pending = WebhookDelivery.objects.filter(
        state=WebhookDelivery.State.PENDING, updated__lt=now - stall
    )
    for delivery_id, attempts, updated in pending.values_list("pk", "attempts", "updated"):
        due = updated + timedelta(seconds=_webhook_backoff(attempts) if attempts else 0)
        if due + stall > now:
            continue
        logger.warning("Webhook delivery overdue, sent again delivery=%s", delivery_id)
        _send_webhook(delivery_id, countdown=0, attempts_before=attempts)
        resent += 1
    return resent


def projects_to_reconcile():
    return Project.objects.filter(cloud__is_active=True).filter(~Q(tenant__is_active=False))
