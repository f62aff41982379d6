"""The OpenAPI description of the API: its envelope, errors, token transport and examples.

drf-spectacular describes the DRF views; the token endpoint and the health endpoints are
plain Django views, added by `add_plain_django_endpoints`. Each documented example is a real
answer's shape: `portal/tests/test_openapi.py` makes the request and compares.
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

ERROR_EXAMPLES = {
    400: (
        "Invalid input: instance_count",
        {"errors": {"instance_count": ["Must be at most 20."]}},
    ),
    401: ("The access token is unknown, expired or revoked.", {}),
    403: ("The access token lacks the scope this endpoint needs.", {}),
    404: ("Project not found.", {}),
    503: ("The cloud is unreachable: Cloud unreachable: connection refused", {}),
}


def errors(*statuses: int) -> dict:
    """Error answers in the envelope, with an example each."""
    return {
        status: OpenApiResponse(
            ERROR,
            description=ERROR_EXAMPLES[status][0],
            examples=[
                example(
                    ERROR_EXAMPLES[status][1],
                    name=f"error {status}",
                    status=status,
                    message=ERROR_EXAMPLES[status][0],
                )
            ],
        )
        for status in statuses
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
            {"200": "Every dependency is up.", "503": "Some dependency is down; see checks."},
        ),
    ):
        result["paths"][path] = {
            "get": {
                "operationId": path.strip("/"),
                "summary": summary,
                "tags": ["health"],
                "security": [{}],
                "responses": {
                    status: {
                        "description": text,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"status": {"type": "string"}, "checks": checks},
                                }
                            }
                        },
                    }
                    for status, text in responses.items()
                },
            }
        }
    return result
