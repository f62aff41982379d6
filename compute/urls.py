from django.urls import path

from compute import api

urlpatterns = [
    path("projects", api.ProjectListView.as_view(), name="api-project-list"),
    path("instances", api.InstanceListView.as_view(), name="api-instance-list"),
    path("compute", api.StackCreateView.as_view(), name="api-stack-create"),
    path("delete_instances", api.StackDeleteView.as_view(), name="api-stack-delete"),
    path("stacks/<str:stack_name>", api.StackDetailView.as_view(), name="api-stack-detail"),
    path("flavors", api.FlavorListView.as_view(), name="api-flavor-list"),
    path("images", api.ImageListView.as_view(), name="api-image-list"),
    path("audit", api.AuditListView.as_view(), name="api-audit-list"),
]
