"""The Django cache on Redis, with one connection pool and one client per process.

Django keeps a cache object per request context, and under ASGI (Daphne) every request runs its sync
code in a new thread with a new context, so the stock Redis backend built a new client, a new
connection pool and a new TCP connection to Redis for every request that touched the cache (the
job-post rate limiter: about an eighth of a POST's time in ``bench/e2e.py``'s profile).  It also
builds a new ``redis.Redis`` object for every cache call (its ~170 response callbacks copied each
time: two per job POST).  :class:`RedisCache` hands every cache object of the process the same
thread-safe pool and client per server, as the psycopg pool does for Postgres.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_pools: dict[tuple[str, str], redis.ConnectionPool] = {}
_clients: dict[int, redis.Redis] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Any:
        key = (url, repr(sorted(kwargs.items())))
        pool = _pools.get(key)
        if pool is None:
            with _lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = super().from_url(url, **kwargs)
        return pool


class SharedRedisCacheClient(RedisCacheClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        options.setdefault("pool_class", SharedConnectionPool)
        super().__init__(servers, **options)

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = _clients.get(id(pool))
        if client is None:
            with _lock:
                client = _clients.setdefault(id(pool), self._client(connection_pool=pool))  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    """``django.core.cache.backends.redis.RedisCache`` sharing one pool and client per process."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedRedisCacheClient
