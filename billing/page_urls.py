from django.urls import path

from billing import views

urlpatterns = [
    path("", views.dashboard, name="billing-dashboard"),
    path("statements/<int:statement_id>/", views.statement_detail, name="billing-statement"),
    path(
        "statements/<int:statement_id>.csv",
        views.statement_download,
        name="billing-statement-csv",
    ),
]
