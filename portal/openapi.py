"""The OpenAPI description of the API: its envelope, errors, token transport and examples.

drf-spectacular describes the DRF views; the token endpoint and the health endpoints are
plain Django views, added by `add_plain_django_endpoints`. Each endpoint documents its own
errors, and each example is a real answer: `portal/tests/test_openapi.py` makes the request and
compares the shape, the message and the bad fields.
"""

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    inline_serializer,
)
from rest_framework import serializers

from portal.health import CHECKS


class AccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.AccessTokenAuthentication"
    name = ["bearerToken", "queryToken"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "description": "Preferred: stays out of logs."},
            {
                "type": "apiKey",
                "in": "query",
                "name": "access_token",
                "description": "The seed's way; also accepted as a form or JSON body field.",
            },
        ]


class StrictIntegerFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "compute.serializers.StrictIntegerField"

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        maximum = field.max_value() if callable(field.max_value) else field.max_value
        return {"type": "integer", "minimum": field.min_value, "maximum": maximum}


class FlagFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "compute.serializers.FlagField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "oneOf": [
                {"type": "boolean"},
                {"type": "string", "enum": ["true", "false", "yes", "no", "1", "0"]},
            ]
        }


def envelope_of(name: str, data) -> serializers.Serializer:
    """The seed's envelope `{status, message, data}` around a payload."""
    return inline_serializer(
        name,
        {
            "status": serializers.IntegerField(help_text="Equals the HTTP status."),
            "message": serializers.CharField(),
            "data": data,
        },
    )


def example(data, *, name: str = "success", status: int = 200, message: str = "success"):
    return OpenApiExample(
        name,
        value={"status": status, "message": message, "data": data},
        status_codes=[str(status)],
        response_only=True,
    )


ERROR = envelope_of(
    "ErrorEnvelope",
    inline_serializer(
        "ErrorData",
        {
            "errors": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                required=False,
                help_text="On 400: each bad field with its problems.",
            )
        },
    ),
)

UNAUTHORIZED = "The access token is unknown, expired or revoked."
FORBIDDEN = "The access token lacks the scope this endpoint needs."
PROJECT_NOT_FOUND = "Project not found."
STACK_NOT_FOUND = "Stack not found."
# The cloud's own reason follows the colon and varies; `<...>` marks it as a placeholder,
# which portal/tests/test_openapi.py matches as any text.
CLOUD_UNREACHABLE = "The cloud is unreachable: <the cloud's reason>"


def _error(status: int, message: str, data: dict, name: str) -> OpenApiExample:
    return example(data, name=name, status=status, message=message)


def errors(
    *,
    invalid: dict[str, str] | None = None,
    not_found: tuple[str, ...] = (),
    unreachable: bool = False,
    conflict: str | None = None,
) -> dict:
    """The endpoint's own error answers in the envelope, each with a true example.

    Every endpoint needs a token with a scope (401, 403). `invalid` is the bad field the
    400 example names with its problem; `not_found` the 404 messages the endpoint can give,
    one example each; `unreachable` documents the 503 of an endpoint that may call the cloud;
    `conflict` the 409 of an endpoint whose answer the operator's data can stand in the way of.
    """
    answers = {
        401: [_error(401, UNAUTHORIZED, {}, "unknown token")],
        403: [_error(403, FORBIDDEN, {}, "missing scope")],
    }
    if invalid:
        message = "Invalid input: " + ", ".join(invalid)
        data = {"errors": {field: [problem] for field, problem in invalid.items()}}
        answers[400] = [_error(400, message, data, "invalid input")]
    if not_found:
        answers[404] = [_error(404, m, {}, m.rstrip(".").lower()) for m in not_found]
    if conflict:
        answers[409] = [_error(409, conflict, {}, "conflict")]
    if unreachable:
        answers[503] = [_error(503, CLOUD_UNREACHABLE, {}, "cloud unreachable")]
    return {
        status: OpenApiResponse(
            ERROR,
            description=" Or: ".join(e.value["message"] for e in examples),
            examples=examples,
        )
        for status, examples in sorted(answers.items())
    }


def ok(name: str, data, value) -> dict:
    """A 200 answer in the envelope around `data`, with `value` as its example."""
    return {200: OpenApiResponse(envelope_of(name, data), examples=[example(value)])}


def project_name(required: bool, description: str = "An OpenStack project of the tenant."):
    return OpenApiParameter("project_name", OpenApiTypes.STR, required=required,
                            description=description)  # fmt: skip


def add_plain_django_endpoints(result, generator, request, public):
    """The token endpoint and the health endpoints, which are not DRF views."""
    result["paths"]["/oauth/token"] = {
        "post": {
            "operationId": "oauth_token_create",
            "summary": "An access token for client credentials (OAuth2, RFC 6749 4.4).",
            "tags": ["oauth"],
            "security": [{}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["grant_type"],
                            "properties": {
                                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                                "client_id": {"type": "string"},
                                "client_secret": {"type": "string"},
                                "scope": {"type": "string", "description": "Fewer scopes."},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "The token (not enveloped: OAuth2 clients read it as is).",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "access_token": {"type": "string"},
                                    "token_type": {"type": "string"},
                                    "expires_in": {"type": "integer"},
                                    "created_at": {"type": "integer"},
                                    "scope": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "400": {"description": "Bad grant or missing field."},
                "401": {"description": "Unknown client or wrong secret (`invalid_client`)."},
                "429": {"description": "Too many failed attempts; see `Retry-After`."},
            },
        }
    }
    checks = {"type": "object", "additionalProperties": {"type": "object"}}
    for path, summary, responses in (
        ("/healthz", "The process answers.", {"200": "Alive."}),
        (
            "/readyz",
            "Database, broker, cache and each active cloud's Keystone, with latencies.",
            {
                "200": "Every dependency checked is up.",
                "400": "An unknown check was named.",
                "503": "Some dependency is down; see checks.",
            },
        ),
    ):
        narrowing = {
            "name": "check",
            "in": "query",
            "description": "Only these checks (the database is always checked); repeatable.",
            "schema": {"type": "array", "items": {"type": "string", "enum": list(CHECKS)}},
            "style": "form",
            "explode": True,
        }
        result["paths"][path] = {
            "get": {
                "operationId": path.strip("/"),
                "summary": summary,
                "tags": ["health"],
                "security": [{}],
                **({"parameters": [narrowing]} if path == "/readyz" else {}),
                "responses": {
                    status: {
                        "description": text,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "status": {"type": "string"},
                                        "checks": checks,
                                        "error": {"type": "string", "description": "On 400."},
                                    },
                                }
                            }
                        },
                    }
                    for status, text in responses.items()
                },
            }
        }
    return result
