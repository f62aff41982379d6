"""Access tokens on API requests, sent the three ways the seed's clients use.

A token may come as the `access_token` query parameter (the seed's own examples), as an
`access_token` field of a form or JSON body, or in an `Authorization: Bearer` header (the
preferred way). Exactly one of them: a token sent two ways at once is refused with 400.
"""

from django.http import QueryDict
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request as OAuthlibRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from accounts.models import ApiClient

TOKEN_FIELD = "access_token"


class TokenSentTwice(exceptions.ParseError):
    default_detail = "Send the access token one way only: header, query or body."


def _bearer_from_header(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class MalformedBody(exceptions.ParseError):
    default_detail = "Malformed request body."


def _token_from_body(request) -> str | None:
    # A body that does not parse is refused here: once DRF failed to parse it, it holds an
    # empty body, and the view would go on with the query parameters alone.
    try:
        data = request.data
    except exceptions.ParseError as error:
        raise MalformedBody(f"Malformed request body: {error.detail}") from error
    if isinstance(data, dict | QueryDict):
        token = data.get(TOKEN_FIELD)
        return token if isinstance(token, str) and token else None
    return None


class AccessTokenAuthentication(BaseAuthentication):
    """Authenticates an API client by an OAuth2 access token issued by `/oauth/token`.

    On success `request.auth` is the token and `request.auth.application` the `ApiClient`,
    which names the tenant every query is scoped to.
    """

    def authenticate(self, request):
        candidates = [
            token
            for token in (
                _bearer_from_header(request),
                request.query_params.get(TOKEN_FIELD) or None,
                _token_from_body(request),
            )
            if token
        ]
        if not candidates:
            return None
        if len(candidates) > 1:
            raise TokenSentTwice()

        oauth_request = OAuthlibRequest(request.path)
        if not OAuth2Validator().validate_bearer_token(candidates[0], [], oauth_request):
            raise exceptions.AuthenticationFailed(
                "The access token is unknown, expired or revoked."
            )
        token = oauth_request.access_token
        if not isinstance(token.application, ApiClient):
            raise exceptions.AuthenticationFailed("The access token does not belong to a client.")
        return (token.user, token)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
