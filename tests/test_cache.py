"""The Django cache reuses one Redis pool and client per process (marketplace/cache.py).

Under Daphne each request runs in a new thread with its own cache object; these tests make such
objects from fresh threads, as requests do, and check that they share connections."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import caches

from marketplace import ratelimit


def one_thread_each(n: int, work: Callable[[], Any], *, together: bool) -> list[Any]:
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(work())) for _ in range(n)]
    for thread in threads:
        thread.start()
        if not together:
            thread.join()
    for thread in threads:
        thread.join()
    return results


def client_of(cache: Any) -> Any:
    return cache._cache.get_client(write=True)


def test_cache_objects_of_different_threads_share_one_client_and_pool() -> None:
    objects = one_thread_each(5, lambda: caches["default"], together=True)
    assert len({id(cache) for cache in objects}) == 5  # Django's per-thread objects, as before
    assert len({id(client_of(cache)) for cache in objects}) == 1
    assert len({id(client_of(cache).connection_pool) for cache in objects}) == 1


def test_requests_one_after_another_in_new_threads_reuse_one_connection() -> None:
    who = uuid.uuid4().hex
    caches["default"].get("warm-up")  # the process's pool holds a connection now
    before = client_of(caches["default"]).connection_pool._created_connections

    def request() -> tuple[int | None, Any]:
        wait = ratelimit.hit("job_post", who, limit=1000, window=60)
        return wait, client_of(caches["default"]).connection_pool

    results = one_thread_each(40, request, together=False)
    assert [wait for wait, _ in results] == [None] * 40  # every hit counted, none over the limit
    pools = {id(pool): pool for _, pool in results}.values()
    # The stock backend: forty pools, forty connections.  Here: the warm one, reused.
    assert sum(pool._created_connections for pool in pools) == before
    # ... and all forty hits landed on the same counter: the 41st is over a limit of 40.
    assert ratelimit.hit("job_post", who, limit=40, window=60) is not None
