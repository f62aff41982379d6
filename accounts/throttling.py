"""Failed token requests counted per client id and per address, to slow down guessing.

The counter is an atomic cache increment (Redis `INCR` in production), so concurrent guesses
cannot slip past the limit the way a read-then-write throttle lets them.
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def _keys(client_id: str, address: str) -> list[str]:
    keys = [f"token-failures:addr:{address}"]
    if client_id:
        digest = hashlib.sha256(client_id.encode()).hexdigest()[:32]
        keys.append(f"token-failures:client:{digest}")
    return keys


def _window_start() -> int:
    window = settings.TOKEN_FAILURE_WINDOW_SECONDS
    return int(time.time()) // window * window


def retry_after(client_id: str, address: str) -> int | None:
    """Seconds to wait when this client id or address failed too often, else None."""
    window_start = _window_start()
    counts = cache.get_many([f"{key}:{window_start}" for key in _keys(client_id, address)])
    if any(count >= settings.TOKEN_FAILURE_LIMIT for count in counts.values()):
        return window_start + settings.TOKEN_FAILURE_WINDOW_SECONDS - int(time.time()) or 1
    return None


def record_failure(client_id: str, address: str) -> None:
    window_start = _window_start()
    for key in _keys(client_id, address):
        bucket = f"{key}:{window_start}"
        cache.add(bucket, 0, timeout=settings.TOKEN_FAILURE_WINDOW_SECONDS + 5)
        try:
            cache.incr(bucket)
        except ValueError:
            # The bucket expired between add and incr; the next failure starts a new one.
            cache.add(bucket, 1, timeout=settings.TOKEN_FAILURE_WINDOW_SECONDS + 5)
