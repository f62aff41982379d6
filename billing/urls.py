from django.urls import path

from billing import api

urlpatterns = [
    path("billing_instances", api.BillingInstanceListView.as_view(), name="api-billing-instances"),
    path("billing_usage", api.BillingUsageView.as_view(), name="api-billing-usage"),
    path("billing_statements", api.StatementListView.as_view(), name="api-billing-statements"),
    path(
        "billing_statements/<int:statement_id>.csv",
        api.StatementCsvView.as_view(),
        name="api-billing-statement-csv",
    ),
]
