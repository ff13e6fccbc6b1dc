"""Rate limits for the actions people could flood: posting jobs, bidding, signing in (chat and GPS
pings have their own, in their apps, built on :func:`hit`).

Fixed-window counters in Redis (the Django cache), one key per (scope, who, window): cheap, shared
by every web process, and self-expiring.  Limits are settings (``RATE_LIMITS``: scope -> (count,
seconds)).  If Redis is unreachable the limit is not enforced (logged): an outage of the limiter
must not take the marketplace down with it.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache

from marketplace.errors import Refusal, ServiceError

log = logging.getLogger(__name__)


class RateLimited(ServiceError):
    """``rate_limited``; ``wait`` (seconds) becomes the Retry-After header in the API."""

    def __init__(self, message: str, *, wait: int) -> None:
        super().__init__(message, code="rate_limited", kind=Refusal.RATE_LIMITED)
        self.wait = wait


def key(scope: str, who: str | int, bucket: int) -> str:
    """The Redis key counting ``scope`` for ``who`` in window number ``bucket`` (``time // window``)."""
    return f"ratelimit:{settings.RATE_LIMIT_NAMESPACE}:{scope}:{who}:{bucket}"


def hit(scope: str, who: str | int, *, limit: int | None = None, window: int | None = None, cost: int = 1) -> int | None:
    """Count ``cost`` actions (one by default; e.g. each ping of a batch); returns the seconds to wait if over the
    limit, else None.  ``limit``/``window`` override ``RATE_LIMITS[scope]`` for limits configured elsewhere."""
    if limit is not None and window is not None:
        count_limit, seconds = limit, window
    elif scope in settings.RATE_LIMITS:
        count_limit, seconds = settings.RATE_LIMITS[scope]
    else:
        raise KeyError(f"No rate limit configured for {scope!r}")
    now = int(time.time())
    bucket = now // seconds
    counter = key(scope, who, bucket)
    try:
        count = _add(counter, cost, expire=seconds + 1)
    except Exception:
        log.warning("rate limit %s not enforced: the cache is unavailable", scope, exc_info=True)
        return None
    if count > count_limit:
        return (bucket + 1) * seconds - now or 1
    return None


def _add(counter: str, cost: int, *, expire: int) -> int:
    """Add ``cost`` to the counter, creating it (expiring with its window) if new: one Redis round trip.

    ``cache.add`` then ``cache.incr`` took three (Django's ``incr`` checks the key exists first), on every
    job post, bid, sign-in and ping batch.  The key is the cache's own (prefix, version), so
    ``cache.get``/``cache.delete`` of :func:`key` still see the counter."""
    full_key = cache.make_and_validate_key(counter)
    client = cache._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]
    pipe = client.pipeline(transaction=False)
    pipe.set(full_key, 0, ex=expire, nx=True)
    pipe.incrby(full_key, cost)
    return int(pipe.execute()[1])


def check(scope: str, who: str | int, *, what: str) -> None:
    """Raise :class:`RateLimited` ("Too many <what>; try again in N s") if ``who`` is over ``scope``'s limit."""
    wait = hit(scope, who)
    if wait is not None:
        minutes = (wait + 59) // 60
        when = f"{wait} seconds" if wait < 120 else f"{minutes} minutes"
        raise RateLimited(f"Too many {what}. Please try again in {when}.", wait=wait)


def login_key(request: object, username: str) -> str:
    """Sign-in attempts count per (client address, username): one address cannot guess one account's password
    quickly, and one noisy address does not lock everyone else out."""
    address = getattr(request, "META", {}).get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{address}|{username.strip().lower()}".encode()).hexdigest()[:32]
    return digest
