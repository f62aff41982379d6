from django.urls import path

from compute import api

urlpatterns = [
    path("projects", api.ProjectListView.as_view(), name="api-project-list"),
]
