"""The seed's billing endpoint, and the usage and statement endpoints we add."""

from datetime import UTC, date

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.utils import inline_serializer as shape
from rest_framework import exceptions, serializers
from rest_framework.views import APIView

from accounts.selectors import tenant_of_request
from billing import selectors, services
from compute.selectors import project_get
from portal.api import NO_LEAK_HEADERS, envelope
from portal.openapi import PROJECT_NOT_FOUND, errors, ok, project_name

# --- documented shapes and examples ---------------------------------------------------------

_STR, _INT = serializers.CharField, serializers.IntegerField
SERVER = "ce90ce43-b4fc-4b64-afe8-af477380cd1f"
BILLED_INSTANCE = shape(
    "BilledInstance",
    {"id": _STR(), "name": _STR(), "state": _STR(), "created": _STR()},
    many=True,
)
USAGE_LINE = shape(
    "UsageLine",
    {"id": _STR(), "name": _STR(), "stack_name": _STR(), "flavor_id": _STR(),
     "price_per_hour": _STR(allow_null=True), "seconds": _INT(), "hours": _STR(),
     "cost": _STR()},
    many=True,
)  # fmt: skip
USAGE = shape(
    "Usage",
    {"project_name": _STR(), "month": _STR(), "from": _STR(), "until": _STR(),
     "currency": _STR(), "instances": USAGE_LINE, "total": _STR(), "hourly_rate": _STR(),
     "forecast": _STR(allow_null=True)},
)  # fmt: skip
USAGE_EXAMPLE = {
    "project_name": "devel", "month": "2026-11", "from": "2026-11-01T00:00:00+00:00",
    "until": "2026-11-20T12:00:00+00:00", "currency": "EUR",
    "instances": [{"id": SERVER, "name": "stack_r-k3v9x0qa-1", "stack_name": "stack_r-k3v9x0qa",
                   "flavor_id": "1", "price_per_hour": "0.1", "seconds": 5400,
                   "hours": "1.5000", "cost": "0.15"}],
    "total": "0.15", "hourly_rate": "0.1000", "forecast": "23.40",
}  # fmt: skip
STATEMENT = shape(
    "StatementSummary",
    {"id": _INT(), "month": _STR(), "currency": _STR(), "total": _STR(), "closed": _STR(),
     "csv_url": _STR()},
    many=True,
)  # fmt: skip
BILLING_ERRORS = errors(
    invalid={"project_name": "This field is required."}, not_found=(PROJECT_NOT_FOUND,)
)
PRICES_CANNOT_BILL = "The prices cannot bill this project: <the reason>"
USAGE_ERRORS = errors(
    invalid={"project_name": "This field is required."},
    not_found=(PROJECT_NOT_FOUND,),
    conflict=PRICES_CANNOT_BILL,
)


class PricesCannotBill(exceptions.APIException):
    """The operator's prices cannot bill the project as they stand (say, in two currencies):
    the tenant can do nothing about it, and it is no fault of the request."""

    status_code = 409
    default_code = "prices_cannot_bill"


FIRST_YEAR, LAST_YEAR = 1970, 9998


class ProjectQuery(serializers.Serializer):
    project_name = serializers.CharField(max_length=64)


class UsageQuery(ProjectQuery):
    month = serializers.RegexField(
        r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        error_messages={"invalid": "Use the form YYYY-MM."},
    )

    def validate_month(self, value: str) -> str:
        # Years that time arithmetic in UTC and in epoch microseconds can hold, with room for
        # the month's end and a local time zone on either side.
        if not FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
            raise serializers.ValidationError(f"Use a year from {FIRST_YEAR} to {LAST_YEAR}.")
        return value


def _project(request, query_class=ProjectQuery):
    query = query_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    project = project_get(
        tenant=tenant_of_request(request), name=query.validated_data["project_name"]
    )
    if project is None:
        raise exceptions.NotFound(PROJECT_NOT_FOUND)
    return project, query.validated_data


def _iso_z(moment) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as the seed's examples show."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


@extend_schema(
    summary="The project's instances that exist now (seed).",
    parameters=[project_name(True)],
    responses={
        **ok(
            "BillingInstances",
            shape("BillingInstancesData", {"instances": BILLED_INSTANCE, "total": _INT()}),
            {"instances": [{"id": SERVER, "name": "stack_r-k3v9x0qa-1", "state": "ACTIVE",
                            "created": "2017-09-01T18:09:59.000Z"}], "total": 1},
        ),
        **BILLING_ERRORS,
    },
)  # fmt: skip
class BillingInstanceListView(APIView):
    """`GET /openstack/billing_instances?project_name=`: the project's instances that exist now,
    `{"instances": [{"id", "name", "state", "created"}], "total": N}` as in the seed."""

    read_scope = "billing:read"

    def get(self, request):
        project, _ = _project(request)
        instances = selectors.existing_instances(project=project)
        data = {
            "instances": [
                {
                    "id": instance.server_id,
                    "name": instance.name,
                    "state": instance.state,
                    "created": _iso_z(instance.created),
                }
                for instance in instances
            ],
            "total": len(instances),
        }
        return envelope(data)


def _month_of(text: str | None) -> date:
    if not text:
        return timezone.now().date().replace(day=1)
    year, month = text.split("-")
    return date(int(year), int(month), 1)


@extend_schema(
    summary="A month's billable time and cost per instance, with a forecast (added).",
    parameters=[
        project_name(True),
        OpenApiParameter(
            "month", OpenApiTypes.STR, description="YYYY-MM; this month if left out."
        ),
    ],
    responses={**ok("BillingUsage", USAGE, USAGE_EXAMPLE), **USAGE_ERRORS},
)
class BillingUsageView(APIView):
    """`GET /openstack/billing_usage?project_name=&month=YYYY-MM`: per instance its billable
    time and cost; totals; for the current month, the cost to date and a forecast (added)."""

    read_scope = "billing:read"

    def get(self, request):
        project, query = _project(request, UsageQuery)
        try:
            usage = services.month_usage(project=project, month=_month_of(query.get("month")))
        except services.PriceError as error:
            raise PricesCannotBill(
                PRICES_CANNOT_BILL.replace("<the reason>", str(error))
            ) from None
        return envelope(selectors.usage_answer(usage))


@extend_schema(
    summary="The project's closed monthly statements (added).",
    parameters=[project_name(True)],
    responses={
        **ok(
            "Statements",
            shape("StatementsData", {"statements": STATEMENT}),
            {"statements": [{"id": 7, "month": "2026-10", "currency": "EUR", "total": "12.40",
                             "closed": "2026-11-01T06:00:00+00:00",
                             "csv_url": "http://127.0.0.1:8000/openstack/billing_statements/7.csv"}]},
        ),
        **BILLING_ERRORS,
    },
)  # fmt: skip
class StatementListView(APIView):
    """`GET /openstack/billing_statements?project_name=`: the project's closed statements."""

    read_scope = "billing:read"

    def get(self, request):
        project, _ = _project(request)
        statements = selectors.statement_list(project=project)
        return envelope(
            {"statements": [selectors.statement_summary(s, request) for s in statements]}
        )


@extend_schema(
    summary="One statement as a CSV file (added).",
    responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The statement."),
        **errors(not_found=("Statement not found.",)),
    },
)
class StatementCsvView(APIView):
    """`GET /openstack/billing_statements/<id>.csv`: one statement as a spreadsheet file."""

    read_scope = "billing:read"

    def get(self, request, statement_id: int):
        statement = selectors.statement_get(
            tenant=tenant_of_request(request), statement_id=statement_id
        )
        if statement is None:
            raise exceptions.NotFound("Statement not found.")
        return csv_response(statement)


def csv_response(statement) -> HttpResponse:
    response = HttpResponse(
        services.statement_csv(statement=statement), content_type="text/csv; charset=utf-8"
    )
    filename = f"{statement.project.name}-{statement.period_start:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    for header, value in NO_LEAK_HEADERS.items():
        response[header] = value
    return response
