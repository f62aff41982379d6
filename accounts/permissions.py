"""What a client's token allows: each API view names the scope it needs per method."""

from rest_framework.permissions import BasePermission

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class HasClientScope(BasePermission):
    """Allows a request whose token carries the view's scope for that method.

    A view sets `read_scope` (GET, HEAD, OPTIONS) and `write_scope` (every other method);
    a view that sets neither is closed to tokens.
    """

    message = "The access token lacks the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None:
            return False
        if not hasattr(view, request.method.lower()):
            return True  # the view answers 405 for a method it does not have
        needed = getattr(
            view, "read_scope" if request.method in SAFE_METHODS else "write_scope", None
        )
        return bool(needed) and needed in token.scope.split()
