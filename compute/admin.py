from django.contrib import admin

from compute.models import Cloud, Project


@admin.register(Cloud)
class CloudAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "is_active", "created"]
    list_filter = ["is_active"]
    search_fields = ["name", "region"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "cloud", "openstack_id", "created"]
    list_filter = ["cloud"]
    search_fields = ["name", "openstack_id", "tenant__name"]
    autocomplete_fields = ["tenant"]
