"""The tenant's stack pages (the API's compute endpoints are in `compute.urls`)."""

from django.urls import path

from compute import views

urlpatterns = [
    path("stacks/", views.stack_index, name="stack-index"),
    path("projects/<str:project_name>/stacks/", views.stack_list, name="stack-list"),
    path(
        "projects/<str:project_name>/stacks/rows/",
        views.stack_list_rows,
        name="stack-list-rows",
    ),
    path("projects/<str:project_name>/launch/", views.stack_launch, name="stack-launch"),
    path(
        "projects/<str:project_name>/launch/price/",
        views.stack_launch_price,
        name="stack-launch-price",
    ),
    path("stacks/<str:stack_name>/", views.stack_detail, name="stack-detail"),
    path("stacks/<str:stack_name>/status/", views.stack_detail_status, name="stack-detail-status"),
    path("stacks/<str:stack_name>/delete/", views.stack_delete, name="stack-delete"),
]
