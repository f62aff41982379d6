"""Clouds, projects, stacks, instances, operations, webhooks and orphans in Django admin."""

from django.contrib import admin, messages

from compute import services, tasks
from compute.models import (
    AuditEvent,
    Cloud,
    Instance,
    Operation,
    OrphanServer,
    Project,
    Stack,
    WebhookDelivery,
)


@admin.register(Cloud)
class CloudAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "network_name", "floating_network_name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "region"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "cloud", "openstack_id", "created"]
    list_filter = ["cloud"]
    search_fields = ["name", "openstack_id", "tenant__name"]
    autocomplete_fields = ["tenant"]
    actions = ["reconcile_now", "refresh_catalog_now"]

    @admin.action(description="Reconcile with the cloud now")
    def reconcile_now(self, request, queryset):
        for project in queryset:
            tasks.reconcile_project.delay(project.pk)
        self.message_user(request, f"Reconciliation queued for {queryset.count()} project(s).")

    @admin.action(description="Refresh flavors, images and limits now")
    def refresh_catalog_now(self, request, queryset):
        for project in queryset:
            tasks.refresh_catalog.delay(project.pk)
        self.message_user(request, f"Catalog refresh queued for {queryset.count()} project(s).")


class InstanceInline(admin.TabularInline):
    model = Instance
    extra = 0
    can_delete = False
    fields = ["name", "server_id", "state", "fixed_ip", "floating_ip", "created", "deleted"]
    readonly_fields = fields


class OperationInline(admin.TabularInline):
    model = Operation
    extra = 0
    can_delete = False
    fields = ["kind", "state", "step", "attempts", "error", "created", "finished"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Stack)
class StackAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "state", "instance_count", "floating_ip", "created"]
    list_filter = ["state", "floating_ip", "project__cloud", "project__tenant"]
    search_fields = ["name", "project__name", "project__tenant__name", "instances__server_id"]
    readonly_fields = ["name", "created", "updated", "created_by_client"]
    inlines = [InstanceInline, OperationInline]
    actions = ["force_delete"]

    @admin.action(description="Force delete (starts a fresh deletion)")
    def force_delete(self, request, queryset):
        for stack in queryset:
            services.stack_delete(stack=stack, force=True, user=request.user)
        self.message_user(request, f"Deletion started for {queryset.count()} stack(s).")


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ["name", "stack", "state", "fixed_ip", "floating_ip", "flavor_id", "created"]
    list_filter = ["state", "stack__project__cloud"]
    search_fields = ["name", "server_id", "fixed_ip", "floating_ip", "stack__name"]
    list_select_related = ["stack"]


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    list_display = ["stack", "kind", "state", "step", "attempts", "created", "finished"]
    list_filter = ["kind", "state", "step"]
    search_fields = ["id", "stack__name", "error", "request_id"]
    readonly_fields = [f.name for f in Operation._meta.fields]
    list_select_related = ["stack"]
    actions = ["retry", "mark_failed"]

    @admin.action(description="Retry (failed or cancelled operations)")
    def retry(self, request, queryset):
        retried = 0
        for operation in queryset:
            if operation.is_terminal and operation.state != Operation.State.SUCCEEDED:
                services.operation_retry(operation=operation, user=request.user)
                retried += 1
        self.message_user(request, f"{retried} operation(s) retried.")

    @admin.action(description="Mark stuck operations failed")
    def mark_failed(self, request, queryset):
        for operation in queryset:
            services.operation_mark_failed(
                operation=operation,
                reason=f"Marked failed by operator {request.user}.",
                user=request.user,
            )
        self.message_user(request, "Done.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "url", "state", "attempts", "last_status", "created"]
    list_filter = ["state", "event"]
    search_fields = ["url", "operation__stack__name"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]


@admin.register(OrphanServer)
class OrphanServerAdmin(admin.ModelAdmin):
    list_display = ["name", "server_id", "stack_name", "project", "status", "last_seen"]
    list_filter = ["project"]
    search_fields = ["name", "server_id", "stack_name"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail is a record: operators read it, nobody edits it."""

    list_display = ["at", "action", "stack_name", "tenant", "project", "actor", "request_id"]
    list_filter = ["action", "tenant"]
    search_fields = ["stack_name", "actor", "request_id", "tenant__name"]
    list_select_related = ["tenant", "project__cloud"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
