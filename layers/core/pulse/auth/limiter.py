"""Brute-force limiter for login: failures counted per account and per source IP in Redis.

``ACCOUNT_LIMIT`` failed logins for one email, or ``IP_LIMIT`` from one source IP, within
``WINDOW_SECONDS`` of the first failure lock further attempts (right or wrong password) with a
429 and ``Retry-After`` until the window ends. A success clears the account's counter. The
window is fixed, not sliding: one ``SET NX EX`` and ``INCR`` per failure.

When Redis is down the limiter fails open (logged, counted as ``LoginLimiterSkipped``): failing
closed would lock every user out during an outage, while argon2id (19 MiB and two passes per
guess) and the functions' concurrency limit still bound how fast anyone can guess.
"""

from __future__ import annotations

import hashlib
import math

import redis
from aws_lambda_powertools.metrics import MetricUnit

from pulse.auth.store import StoreUnavailable, auth_key, call
from pulse.errors import ApiError
from pulse.observability import logger, metrics

ACCOUNT_LIMIT = 5
IP_LIMIT = 20
WINDOW_SECONDS = 15 * 60


def _account_key(email: str) -> str:
    # Hashed so that Redis never holds the addresses of people who tried to sign in.
    return auth_key(f"login-failures:account:{hashlib.sha256(email.encode()).hexdigest()[:32]}")


def _ip_key(source_ip: str) -> str:
    return auth_key(f"login-failures:ip:{source_ip}")


def _skipped(operation: str) -> None:
    logger.warning("login limiter skipped: Redis unavailable (failing open)", extra={"operation": operation})
    metrics.add_metric(name="LoginLimiterSkipped", unit=MetricUnit.Count, value=1)


def check(*, email: str, source_ip: str) -> None:
    """Raise a 429 with ``Retry-After`` when the account or the source IP is locked."""
    names = (_account_key(email), _ip_key(source_ip))

    def read(r: redis.Redis) -> list[object]:
        pipe = r.pipeline(transaction=False)
        for name in names:
            pipe.get(name)
            pipe.pttl(name)
        return pipe.execute()

    try:
        account, account_ttl, ip, ip_ttl = call("limiter-check", read)
    except StoreUnavailable:
        _skipped("check")
        return
    waits = []
    if account is not None and int(str(account)) >= ACCOUNT_LIMIT:
        waits.append(int(str(account_ttl)))
    if ip is not None and int(str(ip)) >= IP_LIMIT:
        waits.append(int(str(ip_ttl)))
    if waits:
        retry_after = max(1, math.ceil(max(waits) / 1000))
        raise ApiError(
            429,
            "too_many_attempts",
            f"Too many failed sign-in attempts; try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )


def record_failure(*, email: str, source_ip: str) -> None:
    """Count one failed login against the account and the source IP."""

    def count(r: redis.Redis) -> None:
        pipe = r.pipeline(transaction=True)
        for name in (_account_key(email), _ip_key(source_ip)):
            pipe.set(name, 0, ex=WINDOW_SECONDS, nx=True)
            pipe.incr(name)
        pipe.execute()

    try:
        call("limiter-record", count)
    except StoreUnavailable:
        _skipped("record")


def reset(*, email: str) -> None:
    """Forget an account's failures after a successful login."""
    try:
        call("limiter-reset", lambda r: r.delete(_account_key(email)))
    except StoreUnavailable:
        _skipped("reset")
