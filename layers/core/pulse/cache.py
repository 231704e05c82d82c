"""Redis cache-aside with versioned keys.

A key is ``{prefix}:{namespace}:v{data_version}:{sha256 of the normalized parameters}``. Ingest
bumps the data version (``pulse.dataversion``), so an answer cached before a write is simply
never asked for again and expires by TTL: nothing is ever deleted by pattern.

Redis is an optimisation, never a dependency: an error or a timeout (``REDIS_TIMEOUT_SECONDS``)
is logged, counted as the ``CacheErrors`` metric, and the answer is computed uncached. After a
failure Redis is skipped for ``BREAKER_SECONDS`` so a dead Redis costs one timeout, not one per
request.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

import redis
from aws_lambda_powertools.metrics import MetricUnit
from redis.backoff import NoBackoff
from redis.retry import Retry

from pulse.config import get_settings
from pulse.observability import logger, metrics

T = TypeVar("T")
BREAKER_SECONDS = 5.0


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, dates as ISO strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


@lru_cache(maxsize=1)
def get_redis() -> redis.Redis:
    """The Redis client of this container (connections are made lazily, on first command)."""
    settings = get_settings()
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=settings.REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=settings.REDIS_TIMEOUT_SECONDS,
        # redis-py retries with backoff by default; a dead Redis would then cost seconds per
        # request instead of one short timeout.
        retry=Retry(NoBackoff(), retries=0),
        decode_responses=True,
    )


def key(name: str) -> str:
    """A Redis key under this deployment's prefix."""
    return f"{get_settings().REDIS_KEY_PREFIX}:{name}"


class _Breaker:
    open_until = 0.0

    def allows(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + BREAKER_SECONDS

    def reset(self) -> None:
        self.open_until = 0.0


breaker = _Breaker()


def redis_call(operation: str, call: Callable[[redis.Redis], T]) -> T | None:
    """Run ``call`` against Redis; on failure log, count and return None instead of raising."""
    if not breaker.allows():
        return None
    try:
        return call(get_redis())
    except (redis.RedisError, OSError) as error:
        breaker.trip()
        logger.warning("redis unavailable", extra={"operation": operation, "error": str(error)})
        metrics.add_metric(name="CacheErrors", unit=MetricUnit.Count, value=1)
        return None


def cache_key(namespace: str, params: Mapping[str, Any], version: int) -> str:
    digest = hashlib.sha256(dumps(dict(params)).encode()).hexdigest()[:32]
    return key(f"{namespace}:v{version}:{digest}")


def get_or_compute(
    namespace: str,
    params: Mapping[str, Any],
    version: int,
    compute: Callable[[], T],
    *,
    ttl_seconds: int | None = None,
) -> tuple[T, bool]:
    """Return ``(value, was_cached)``; ``value`` must be JSON-serializable."""
    cache_name = cache_key(namespace, params, version)
    hit = redis_call("get", lambda r: r.get(cache_name))
    if hit is not None:
        metrics.add_metric(name="CacheHits", unit=MetricUnit.Count, value=1)
        return json.loads(str(hit)), True
    value = compute()
    ttl = ttl_seconds or get_settings().CACHE_TTL_SECONDS
    redis_call("set", lambda r: r.set(cache_name, dumps(value), ex=ttl))
    return value, False


def ping() -> float | None:
    """Round-trip time to Redis in milliseconds, or None when it is unreachable."""
    started = time.perf_counter()
    try:
        get_redis().ping()
    except (redis.RedisError, OSError):
        return None
    return (time.perf_counter() - started) * 1000
