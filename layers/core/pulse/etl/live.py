"""Live progress over WebSocket: who is connected, what they follow, and pushing messages to them.

Protocol (API Gateway WebSocket API, route selection ``$request.body.action``):
- ``$connect`` with ``?token=<access token>``: the JWT is verified (signature, claims, revocation)
  and the connection is recorded; an invalid token is refused with 401 (no connection).
- ``{"action": "subscribe", "jobs": ["<job id>", ...], "data": true}``: follow those jobs and/or
  "data updated" notices. Answered with ``{"type": "subscribed", ...}`` and, for each known job,
  its current state ``{"type": "job", "job": {...}}`` so nothing that happened before is missed.
- ``{"action": "unsubscribe", "jobs": [...], "data": false}``: stop following.
- Pushed: ``{"type": "job", "job": {...}}`` on every status or progress change of a followed job,
  and ``{"type": "data_updated", "data_version": n, "updated_at": ..., "job_id": ...}`` after a
  job succeeded. Errors: ``{"type": "error", "code": ..., "message": ...}``.

Connections and subscriptions live in Redis (``ws:conn:{id}``, ``ws:conn:{id}:topics``,
``ws:topic:{topic}``), expiring with API Gateway's two-hour connection limit. Messages go out
through the API Gateway Management API (``WEBSOCKET_ENDPOINT``); ``pulse serve`` installs an
in-process poster instead (``use_local_poster``). Redis down: ``$connect`` is refused with 503
(a connection nobody could find is useless) and pushes are skipped with a log; a job's state is
always in the database, so a client re-reading ``GET /etl/jobs/{id}`` loses nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pulse import cache
from pulse.config import get_settings
from pulse.errors import ApiError
from pulse.observability import logger

CONNECTION_TTL_SECONDS = 2 * 60 * 60
MAX_SUBSCRIBED_JOBS = 50
DATA_TOPIC = "data"


class Poster(Protocol):
    def post(self, connection_id: str, data: bytes) -> bool:
        """Deliver ``data`` to a connection; False when the connection is gone."""


class ManagementApiPoster:
    """Posts through the API Gateway Management API of a WebSocket stage."""

    def __init__(self, endpoint: str, region: str) -> None:
        from pulse.observability import aws_client

        self.client = aws_client("apigatewaymanagementapi", endpoint_url=endpoint, region_name=region)

    def post(self, connection_id: str, data: bytes) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self.client.exceptions.GoneException:
            return False
        except (BotoCoreError, ClientError) as error:
            logger.warning(
                "websocket post failed", extra={"connection_id": connection_id, "error": str(error)}
            )
        return True


_local_poster: Poster | None = None


def use_local_poster(poster: Poster | None) -> None:
    """Deliver through ``poster`` in this process (``pulse serve``) instead of the Management API."""
    global _local_poster
    _local_poster = poster


@lru_cache(maxsize=4)
def _management_api(endpoint: str, region: str) -> ManagementApiPoster:
    return ManagementApiPoster(endpoint, region)


def poster() -> Poster | None:
    """The local poster when one is installed, else the Management API of ``WEBSOCKET_ENDPOINT``."""
    if _local_poster is not None:
        return _local_poster
    settings = get_settings()
    if not settings.WEBSOCKET_ENDPOINT:
        return None
    return _management_api(settings.WEBSOCKET_ENDPOINT, settings.AWS_REGION)


def _connection_key(connection_id: str) -> str:
    return cache.key(f"ws:conn:{connection_id}")


def _topics_key(connection_id: str) -> str:
    return cache.key(f"ws:conn:{connection_id}:topics")


def _topic_key(topic: str) -> str:
    return cache.key(f"ws:topic:{topic}")


def job_topic(job_id: str) -> str:
    return f"job:{job_id}"


def encode(message: dict[str, Any]) -> bytes:
    return cache.dumps(message).encode()


def register(*, connection_id: str, subject: str, role: str | None) -> None:
    """Record a new connection; 503 when Redis cannot."""
    record = json.dumps({"subject": subject, "role": role, "connected_at": int(time.time())})
    stored = cache.redis_call(
        "ws-connect", lambda r: r.set(_connection_key(connection_id), record, ex=CONNECTION_TTL_SECONDS)
    )
    if stored is None:
        raise ApiError(503, "live_unavailable", "Live updates are unavailable right now.")


def forget(*, connection_id: str) -> None:
    """Drop a connection and its subscriptions."""
    topics = cast(
        set[Any], cache.redis_call("ws-topics", lambda r: r.smembers(_topics_key(connection_id))) or set()
    )

    def drop(r: Any) -> Any:
        pipe = r.pipeline(transaction=False)
        for topic in topics:
            pipe.srem(_topic_key(str(topic)), connection_id)
        pipe.delete(_connection_key(connection_id), _topics_key(connection_id))
        return pipe.execute()

    cache.redis_call("ws-disconnect", drop)


def is_connected(connection_id: str) -> bool:
    return bool(cache.redis_call("ws-exists", lambda r: r.exists(_connection_key(connection_id))))


def subscribe(*, connection_id: str, topics: Iterable[str]) -> bool:
    """Follow ``topics``; False when Redis could not record it."""
    chosen = list(topics)

    def add(r: Any) -> Any:
        pipe = r.pipeline(transaction=False)
        for topic in chosen:
            pipe.sadd(_topic_key(topic), connection_id)
            pipe.expire(_topic_key(topic), CONNECTION_TTL_SECONDS)
        pipe.sadd(_topics_key(connection_id), *chosen)
        pipe.expire(_topics_key(connection_id), CONNECTION_TTL_SECONDS)
        return pipe.execute()

    return not chosen or cache.redis_call("ws-subscribe", add) is not None


def unsubscribe(*, connection_id: str, topics: Iterable[str]) -> None:
    chosen = list(topics)

    def remove(r: Any) -> Any:
        pipe = r.pipeline(transaction=False)
        for topic in chosen:
            pipe.srem(_topic_key(topic), connection_id)
        pipe.srem(_topics_key(connection_id), *chosen)
        return pipe.execute()

    if chosen:
        cache.redis_call("ws-unsubscribe", remove)


def send(connection_id: str, message: dict[str, Any]) -> bool:
    """Post one message to one connection; a gone connection is forgotten."""
    target = poster()
    if target is None:
        return False
    if target.post(connection_id, encode(message)):
        return True
    forget(connection_id=connection_id)
    return False


def publish(topic: str, message: dict[str, Any]) -> int:
    """Post ``message`` to every connection following ``topic``; how many received it."""
    target = poster()
    if target is None:
        return 0
    members = cast(set[Any] | None, cache.redis_call("ws-publish", lambda r: r.smembers(_topic_key(topic))))
    if not members:
        return 0
    data = encode(message)
    delivered = 0
    for connection_id in sorted(str(member) for member in members):
        if target.post(connection_id, data):
            delivered += 1
        else:
            forget(connection_id=connection_id)
    return delivered


def publish_job(job: dict[str, Any]) -> int:
    """Tell the followers of a job its new state."""
    snapshot = {name: value for name, value in job.items() if name != "events"}
    return publish(job_topic(job["id"]), {"type": "job", "job": snapshot})


def publish_data_updated(*, version: int, updated_at: Any, job_id: str | None) -> int:
    """Tell "data updated" followers that cached analytics moved to a new data version."""
    message = {"type": "data_updated", "data_version": version, "updated_at": updated_at, "job_id": job_id}
    return publish(DATA_TOPIC, message)


class SubscribeMessage(BaseModel):
    """``{"action": "subscribe" | "unsubscribe", "jobs": [...], "data": bool}``."""

    model_config = ConfigDict(extra="ignore")

    action: str
    jobs: list[str] = Field(default_factory=list, max_length=MAX_SUBSCRIBED_JOBS)
    data: bool = False


def parse_message(body: str | None) -> SubscribeMessage:
    """The subscription request in a message body; 400 with a readable reason otherwise."""
    try:
        return SubscribeMessage.model_validate_json(body or "")
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}"
            if problem["loc"]
            else problem["msg"]
            for problem in error.errors()
        )
        raise ApiError(400, "bad_message", f"Invalid message: {problems}") from None


def error_message(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


def _lambda_error(error: ApiError) -> dict[str, Any]:
    body = {"error": {"code": error.code, "message": error.message}}
    return {"statusCode": error.status, "headers": error.headers or {}, "body": json.dumps(body)}


def on_connect(*, connection_id: str, token: str | None) -> dict[str, Any]:
    """``$connect``: accept (200) a verified, unrevoked access token; else the refusal's status."""
    from pulse.auth import revocation, tokens
    from pulse.auth.errors import MISSING_TOKEN, TOKEN_REVOKED, Unauthorized

    try:
        if not token:
            raise Unauthorized(MISSING_TOKEN, "Pass the access token as the 'token' query parameter.")
        claims = tokens.decode(token, expected="access")
        if revocation.is_revoked(
            kind="user",
            subject=claims.subject,
            token_id=claims.token_id,
            family=claims.family,
            issued_at=claims.issued_at,
        ):
            raise Unauthorized(TOKEN_REVOKED, "The token was revoked.")
        register(connection_id=connection_id, subject=claims.subject, role=claims.role)
    except ApiError as error:
        logger.info("websocket refused", extra={"code": error.code})
        return _lambda_error(error)
    return {"statusCode": 200}


def on_disconnect(*, connection_id: str) -> dict[str, Any]:
    """``$disconnect``: forget the connection and what it followed."""
    forget(connection_id=connection_id)
    return {"statusCode": 200}


def on_message(*, connection_id: str, route_key: str, body: str | None) -> dict[str, Any]:
    """``subscribe`` / ``unsubscribe`` / ``$default``: answers go back over the connection."""
    from pulse import db
    from pulse.etl import jobs

    if route_key not in ("subscribe", "unsubscribe"):
        send(connection_id, error_message("unknown_action", "Use the action 'subscribe' or 'unsubscribe'."))
        return {"statusCode": 200}
    try:
        request = parse_message(body)
    except ApiError as error:
        send(connection_id, error_message(error.code, error.message))
        return {"statusCode": 200}
    if not is_connected(connection_id):
        send(connection_id, error_message("not_connected", "This connection is unknown; reconnect."))
        return {"statusCode": 200}
    if route_key == "unsubscribe":
        topics = [job_topic(job_id) for job_id in request.jobs] + ([DATA_TOPIC] if request.data else [])
        unsubscribe(connection_id=connection_id, topics=topics)
        send(connection_id, {"type": "unsubscribed", "jobs": request.jobs, "data": request.data})
        return {"statusCode": 200}
    with db.connect() as connection:
        known = jobs.existing(connection, job_ids=request.jobs)
    known_ids = {job["id"] for job in known}
    topics = [job_topic(job_id) for job_id in sorted(known_ids)] + ([DATA_TOPIC] if request.data else [])
    if not subscribe(connection_id=connection_id, topics=topics):
        send(connection_id, error_message("live_unavailable", "Live updates are unavailable right now."))
        return {"statusCode": 200}
    unknown = [job_id for job_id in request.jobs if job_id.lower() not in known_ids]
    send(
        connection_id,
        {"type": "subscribed", "jobs": sorted(known_ids), "data": request.data, "unknown_jobs": unknown},
    )
    for job in sorted(known, key=lambda job: job["id"]):
        send(connection_id, {"type": "job", "job": job})
    return {"statusCode": 200}
