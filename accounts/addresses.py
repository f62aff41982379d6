"""Where a request comes from, for throttling: the caller's address, seen through the
portal's own proxies."""

from django.conf import settings


def client_address(request) -> str:
    """The address of the person or program that sent the request.

    A request that reaches us from a trusted proxy carries the caller in `X-Forwarded-For`:
    each proxy appends the address it received from, so the caller is the last entry that is
    not one of our proxies. Entries further left are whatever the caller chose to send.
    """
    address = request.META.get("REMOTE_ADDR", "")
    trusted = settings.FORWARDED_ALLOW_IPS
    if "*" not in trusted and address not in trusted:
        return address
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if hop not in trusted:
            return hop
    return address
