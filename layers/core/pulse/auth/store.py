"""Redis for authentication state: revocations, refresh-token rotation, login failure counters.

Unlike the cache, callers here must know when Redis could not answer, because each decides
differently (README "Authentication"): refresh rotation and logout fail closed, access-token
revocation checks and the brute-force limiter fail open. ``call`` therefore raises
``StoreUnavailable`` instead of returning None. It shares the cache's breaker, so a dead Redis
costs one timeout per container every few seconds, not one per request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import redis
from aws_lambda_powertools.metrics import MetricUnit

from pulse import cache
from pulse.observability import logger, metrics

T = TypeVar("T")


class StoreUnavailable(Exception):
    """Redis did not answer (error, timeout, or the breaker is open)."""


def auth_key(name: str) -> str:
    """A Redis key of the auth namespace under this deployment's prefix."""
    return cache.key(f"auth:{name}")


def call(operation: str, command: Callable[[redis.Redis], T]) -> T:
    """Run ``command`` against Redis; raise ``StoreUnavailable`` (logged and counted) on failure."""
    if not cache.breaker.allows():
        raise StoreUnavailable(operation)
    try:
        return command(cache.get_redis())
    except (redis.RedisError, OSError) as error:
        cache.breaker.trip()
        logger.warning("auth store unavailable", extra={"operation": operation, "error": str(error)})
        metrics.add_metric(name="AuthStoreErrors", unit=MetricUnit.Count, value=1)
        raise StoreUnavailable(operation) from error
