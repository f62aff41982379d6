"""Clouds, the projects tenants are given on them, and the stacks of servers they run there."""

import secrets
import string
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import ApiClient, Tenant

STACK_NAME_ALPHABET = string.ascii_lowercase + string.digits


def new_stack_name() -> str:
    return "stack_r-" + "".join(secrets.choice(STACK_NAME_ALPHABET) for _ in range(8))


class Cloud(models.Model):
    """An OpenStack cloud, named as an entry of clouds.yaml; its secrets stay there.

    The entry's user is the portal's service account: it must hold a role in every project
    of the cloud that is assigned to a tenant.
    """

    name = models.CharField(max_length=100, unique=True, help_text="The clouds.yaml entry.")
    region = models.CharField(max_length=100, blank=True)
    network_name = models.CharField(
        max_length=100,
        blank=True,
        default="private",
        help_text="Network new servers are attached to; empty for Nova's automatic choice.",
    )
    floating_network_name = models.CharField(
        max_length=100, default="public", help_text="External network of floating IPs."
    )
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.region})" if self.region else self.name


class Project(models.Model):
    """An OpenStack project on a cloud, assigned to one tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="projects")
    cloud = models.ForeignKey(Cloud, on_delete=models.PROTECT, related_name="projects")
    openstack_id = models.CharField(max_length=64, blank=True, help_text="Keystone project id.")
    name = models.CharField(max_length=64, help_text="Keystone project name.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="project_name_per_tenant"),
            models.UniqueConstraint(fields=["cloud", "name"], name="project_name_per_cloud"),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.cloud.name}"


class ProjectCatalog(models.Model):
    """What the cloud offers a project, cached so that requests never wait on the cloud.

    Refreshed by a periodic task, and on demand when older than the catalog's lifetime.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="catalog")
    flavors = models.JSONField(default=list, help_text="[{id, name, vcpus, ram_mb, disk_gb}]")
    images = models.JSONField(default=list, help_text="[{id, name, status, ...}]")
    member_names = models.JSONField(default=list, help_text="Keystone users in the project.")
    limits = models.JSONField(default=dict, help_text="Nova's absolute limits.")
    refreshed = models.DateTimeField()

    def __str__(self) -> str:
        return f"Catalog of {self.project}"

    def flavor(self, flavor_id: str) -> dict | None:
        return next((f for f in self.flavors if f["id"] == flavor_id), None)

    def image(self, image_id: str) -> dict | None:
        return next((i for i in self.images if i["id"] == image_id), None)


class Stack(models.Model):
    """A group of identical servers that a tenant launches and deletes as one."""

    class State(models.TextChoices):
        CREATING = "CREATING"
        ACTIVE = "ACTIVE"
        FAILED = "FAILED"
        DELETING = "DELETING"
        DELETED = "DELETED"

    name = models.CharField(max_length=32, unique=True, default=new_stack_name)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="stacks")
    state = models.CharField(max_length=10, choices=State.choices, default=State.CREATING)
    image_id = models.CharField(max_length=64)
    flavor_id = models.CharField(max_length=64)
    instance_count = models.PositiveSmallIntegerField()
    floating_ip = models.BooleanField(default=False)
    user_name = models.CharField(max_length=255, help_text="The OpenStack user it was asked for.")
    error = models.TextField(blank=True)
    created_by_client = models.ForeignKey(
        ApiClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["project", "state"])]

    def __str__(self) -> str:
        return self.name

    @property
    def tenant_id(self) -> int:
        return self.project.tenant_id


class Instance(models.Model):
    """One server of a stack, as the portal last saw it."""

    class State(models.TextChoices):
        PENDING = "PENDING"  # asked for, no server id known yet
        BUILD = "BUILD"
        ACTIVE = "ACTIVE"
        SHUTOFF = "SHUTOFF"
        PAUSED = "PAUSED"
        SUSPENDED = "SUSPENDED"
        ERROR = "ERROR"
        DELETING = "DELETING"
        DELETED = "DELETED"

    stack = models.ForeignKey(Stack, on_delete=models.CASCADE, related_name="instances")
    server_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    state = models.CharField(max_length=10, choices=State.choices, default=State.BUILD)
    fixed_ip = models.CharField(max_length=64, blank=True)
    floating_ip = models.CharField(max_length=64, blank=True)
    floating_ip_id = models.CharField(max_length=64, blank=True)
    flavor_id = models.CharField(max_length=64)
    image_id = models.CharField(max_length=64)
    fault = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)
    deleted = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["stack", "name"]
        indexes = [models.Index(fields=["stack", "state"])]

    def __str__(self) -> str:
        return self.name or self.server_id


class Operation(models.Model):
    """One create or delete job of a stack: its steps, attempts and the cloud's last error.

    `wakeup` is the ticket of the one task message allowed to advance the operation; a
    redelivered or duplicated message carries an old ticket and does nothing.
    """

    class Kind(models.TextChoices):
        CREATE = "CREATE"
        DELETE = "DELETE"

    class State(models.TextChoices):
        PENDING = "PENDING"
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"
        CANCELLED = "CANCELLED"

    TERMINAL_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    stack = models.ForeignKey(Stack, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    state = models.CharField(max_length=9, choices=State.choices, default=State.PENDING)
    step = models.CharField(max_length=32, help_text="The step that runs next.")
    history = models.JSONField(default=list, help_text="[{step, at, note}] in order.")
    attempts = models.PositiveIntegerField(default=0, help_text="Failed tries of this step.")
    error = models.TextField(blank=True)
    wakeup = models.UUIDField(default=uuid.uuid4)
    request_id = models.CharField(max_length=64, blank=True)
    callback_url = models.URLField(max_length=500, blank=True)
    deadline = models.DateTimeField()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["state", "updated"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.stack.name} ({self.state})"

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL_STATES


class WebhookDelivery(models.Model):
    """One event POSTed to a stack's callback URL, retried with backoff until it lands."""

    class State(models.TextChoices):
        PENDING = "PENDING"
        DELIVERED = "DELIVERED"
        FAILED = "FAILED"

    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    event = models.CharField(max_length=32)
    payload = models.JSONField()
    state = models.CharField(max_length=9, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["operation", "event"], name="one_delivery_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.url}"


class OrphanServer(models.Model):
    """A server that carries a stack tag the portal does not know, found by reconciliation."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="orphans")
    server_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    stack_name = models.CharField(max_length=64)
    status = models.CharField(max_length=16)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.name} ({self.server_id})"


class AuditEvent(models.Model):
    """Who did what to a stack and when, through which API client or person: the tenant's
    own record, written in the same transaction as the change it describes."""

    class Action(models.TextChoices):
        CREATE_REQUESTED = "stack.create_requested"
        DELETE_REQUESTED = "stack.delete_requested"
        ACTIVE = "stack.active"
        FAILED = "stack.failed"
        DELETED = "stack.deleted"
        DELETE_FAILED = "stack.delete_failed"
        OPERATION_RETRIED = "operation.retried"
        OPERATION_MARKED_FAILED = "operation.marked_failed"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_events")
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    stack = models.ForeignKey(
        Stack, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    stack_name = models.CharField(max_length=32, blank=True)
    operation = models.ForeignKey(
        Operation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    actor_client = models.ForeignKey(
        ApiClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor = models.CharField(
        max_length=255, help_text="The client or person as they were named at the time."
    )
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-at"]),
            models.Index(fields=["stack", "-at"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.stack_name} by {self.actor}"
