"""Handing jobs to the ETL service, over HTTP or SQS (``ETL_TRANSPORT``).

- ``http``: ``POST {ETL_SERVICE_URL}/api/v1/jobs`` with the job as JSON and ``Idempotency-Key: <job
  id>`` (so a retried delivery is harmless), each attempt bounded by ``ETL_DISPATCH_TIMEOUT_SECONDS``.
  Connection failures, timeouts, 429 and 5xx are retried ``ETL_DISPATCH_RETRIES`` times with
  exponential backoff (``ETL_DISPATCH_BACKOFF_SECONDS`` × 2ⁿ); other 4xx are not. With the defaults
  (3 s, 2 retries, 0.2 s) a dead service costs at most 9.6 s, inside the 29 s Lambda timeout.
  Unreachable → 503 ``etl_unavailable``; 5xx or a refusal → 502 ``etl_bad_gateway``/``etl_rejected``.
- ``sqs``: one message ``{"action": "run", "job": {...}}`` on ``ETL_JOBS_QUEUE_URL``; boto3 retries
  throttling and network errors itself; any failure → 503 ``etl_unavailable``.

Cancelling tells the service too (``POST .../jobs/{id}/cancel`` or ``{"action": "cancel"}``), on a
best-effort basis: the job is already ``cancelled`` in Pulse and later reports are ignored.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from functools import lru_cache
from typing import Any

from pulse.cache import dumps
from pulse.config import Settings, get_settings
from pulse.observability import logger

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class DispatchError(Exception):
    """The job could not be handed over; ``status`` is what the caller gets (502 or 503)."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason


def _post(url: str, body: bytes, *, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def _headers(settings: Settings, job_id: str) -> dict[str, str]:
    headers = {"content-type": "application/json", "idempotency-key": job_id, "user-agent": "pulse-etl"}
    if settings.ETL_SERVICE_TOKEN:
        headers["authorization"] = f"Bearer {settings.ETL_SERVICE_TOKEN}"
    return headers


def send_http(payload: dict[str, Any], *, settings: Settings) -> None:
    """POST the job to the ETL service with timeout, bounded retries and backoff."""
    url = settings.ETL_SERVICE_URL.rstrip("/") + "/api/v1/jobs"
    body = dumps(payload).encode()
    attempts = max(0, settings.ETL_DISPATCH_RETRIES) + 1
    last: DispatchError | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(settings.ETL_DISPATCH_BACKOFF_SECONDS * 2 ** (attempt - 1))
        try:
            status, answer = _post(
                url,
                body,
                headers=_headers(settings, payload["id"]),
                timeout=settings.ETL_DISPATCH_TIMEOUT_SECONDS,
            )
        except (OSError, http.client.HTTPException) as error:
            # URLError (refused, DNS) and TimeoutError are OSErrors; a garbled answer is an HTTPException.
            reason = getattr(error, "reason", error)
            last = DispatchError(503, "etl_unavailable", f"The ETL service is unreachable: {reason}")
            logger.warning("etl dispatch failed", extra={"attempt": attempt + 1, "error": str(reason)})
            continue
        if 200 <= status < 300:
            return
        snippet = answer[:200].decode("utf-8", "replace")
        if status in RETRYABLE_STATUSES:
            last = DispatchError(502, "etl_bad_gateway", f"The ETL service answered {status}: {snippet}")
            logger.warning("etl dispatch failed", extra={"attempt": attempt + 1, "status": status})
            continue
        raise DispatchError(502, "etl_rejected", f"The ETL service refused the job ({status}): {snippet}")
    assert last is not None
    raise DispatchError(last.status, last.code, f"{last.reason} (after {attempts} attempts)")


@lru_cache(maxsize=4)
def sqs_client(region: str) -> Any:
    """The SQS client of this container."""
    from pulse.observability import aws_client

    return aws_client("sqs", region_name=region)


def send_sqs(message: dict[str, Any], *, settings: Settings) -> None:
    """Put ``message`` on the jobs queue."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not settings.ETL_JOBS_QUEUE_URL:
        raise DispatchError(503, "etl_unavailable", "ETL_JOBS_QUEUE_URL is not configured.")
    try:
        sqs_client(settings.AWS_REGION).send_message(
            QueueUrl=settings.ETL_JOBS_QUEUE_URL,
            MessageBody=dumps(message),
            MessageAttributes={"action": {"DataType": "String", "StringValue": message["action"]}},
        )
    except (BotoCoreError, ClientError) as error:
        raise DispatchError(503, "etl_unavailable", f"The jobs queue refused the message: {error}") from None


def send(payload: dict[str, Any], *, settings: Settings | None = None) -> str:
    """Hand a job to the ETL service by the configured transport; return the transport's name."""
    settings = settings or get_settings()
    if settings.ETL_TRANSPORT == "sqs":
        send_sqs({"action": "run", "job": payload}, settings=settings)
    else:
        send_http(payload, settings=settings)
    return settings.ETL_TRANSPORT


def cancel(job_id: str, *, settings: Settings | None = None) -> None:
    """Tell the ETL service a job was cancelled; failures are logged, never raised."""
    settings = settings or get_settings()
    try:
        if settings.ETL_TRANSPORT == "sqs":
            send_sqs({"action": "cancel", "job_id": job_id}, settings=settings)
            return
        url = f"{settings.ETL_SERVICE_URL.rstrip('/')}/api/v1/jobs/{job_id}/cancel"
        status, _ = _post(
            url, b"{}", headers=_headers(settings, job_id), timeout=settings.ETL_DISPATCH_TIMEOUT_SECONDS
        )
        if status >= 300:
            logger.warning("etl cancel not accepted", extra={"job_id": job_id, "status": status})
    except (DispatchError, OSError, http.client.HTTPException) as error:
        logger.warning("etl cancel not delivered", extra={"job_id": job_id, "error": str(error)})


def job_message(job: dict[str, Any], settings_document: dict[str, Any]) -> dict[str, Any]:
    """What the ETL service receives about a job."""
    return {
        "id": job["id"],
        "type": job["type"],
        "repositories": job["repositories"],
        "trigger": job["trigger"],
        "requested_by": job["requested_by"],
        "requested_at": job["created_at"],
        "settings_version": job["settings_version"],
        "settings": settings_document,
    }
