"""Prices with their history, statements, the metering history and revenue across tenants."""

from django.contrib import admin
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.template.response import TemplateResponse
from django.urls import path

from billing.api import csv_response
from billing.models import FlavorPrice, InstanceEvent, Statement, StatementLine


@admin.register(FlavorPrice)
class FlavorPriceAdmin(admin.ModelAdmin):
    list_display = ["flavor_id", "price_per_hour", "currency", "effective_from", "created"]
    list_filter = ["flavor_id", "currency"]
    search_fields = ["flavor_id"]
    date_hierarchy = "effective_from"

    def get_readonly_fields(self, request, obj=None):
        # A price that was in force has billed usage: change it by adding a new one.
        return ["flavor_id", "price_per_hour", "currency", "effective_from"] if obj else []

    def has_delete_permission(self, request, obj=None) -> bool:
        # A price whose time has come may have billed usage; only a future one can be withdrawn.
        if obj is not None and obj.has_started:
            return False
        return super().has_delete_permission(request, obj)


class StatementLineInline(admin.TabularInline):
    model = StatementLine
    fk_name = "statement"
    extra = 0
    can_delete = False
    fields = [
        "kind",
        "stack_name",
        "instance_name",
        "flavor_id",
        "price_per_hour",
        "hours",
        "amount",
        "adjusts",
        "description",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ["project", "tenant", "period_start", "total", "currency", "closed"]
    list_filter = ["period_start", "project__tenant"]
    search_fields = ["project__name", "project__tenant__name"]
    readonly_fields = ["project", "period_start", "period_end", "currency", "total", "closed"]
    inlines = [StatementLineInline]
    actions = ["download_csv"]

    @admin.display(ordering="project__tenant__name")
    def tenant(self, statement):
        return statement.project.tenant

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Download as CSV (one statement)")
    def download_csv(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose one statement.")
            return None
        return csv_response(queryset.get())

    def get_urls(self):
        revenue = self.admin_site.admin_view(self.revenue_view)
        return [
            path("revenue/", revenue, name="billing_statement_revenue"),
            *super().get_urls(),
        ]

    def revenue_view(self, request):
        """Revenue per tenant per month, across all tenants, from closed statements."""
        rows = (
            Statement.objects.annotate(month=TruncMonth("period_start"))
            .values("month", "project__tenant__name", "currency")
            .annotate(total=Sum("total"))
            .order_by("-month", "project__tenant__name")
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Revenue per tenant per month",
            "rows": rows,
        }
        return TemplateResponse(request, "admin/billing/statement/revenue.html", context)


@admin.register(InstanceEvent)
class InstanceEventAdmin(admin.ModelAdmin):
    list_display = ["instance", "state", "at", "flavor_id", "project", "recorded"]
    list_filter = ["state", "project"]
    search_fields = ["instance__server_id", "instance__name", "key"]
    date_hierarchy = "at"
    list_select_related = ["instance", "project"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
