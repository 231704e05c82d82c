"""Ingest over HTTP: the batch endpoint's body rules and the one-record CI/CD and incident webhooks.

Both go through the import path (``pulse.ingest``): same validation, same upserts, placeholders,
shipped commits, data version bump, all in the caller's transaction.

**How large a batch can be.** API Gateway hands the request to Lambda inside the invocation
event, and a synchronous invocation is at most 6 MiB (``LAMBDA_EVENT_BYTES``, 6,291,456 bytes)
of event JSON, headers included. The body travels in it as a JSON string:

- a text body (``Content-Type: application/x-ndjson``) is JSON-escaped: every ``"`` and ``\\``
  takes two bytes, so NDJSON grows by about an eighth (measured on realistic records:
  5,000,000 bytes make a 5,630,000-byte event): a bit over **5 MB of NDJSON** fit;
- any other body is base64-encoded, 4/3 of its size: at most about **4.7 MB** fit. That is the
  budget of a gzip body (``Content-Encoding: gzip``), which NDJSON typically shrinks 8-15 times,
  so gzip is how to send more in one request (up to ``MAX_INFLATED_BYTES`` once inflated).

A request too large for Lambda never reaches the function (API Gateway answers with its own
error, not the envelope). The function refuses bodies over ``MAX_BATCH_BYTES`` (5 MiB, so that a
refused batch usually still fits the event and gets a useful answer) with 413 and the envelope,
naming ``POST /api/v1/ingest/uploads`` (``pulse.ingest.uploads``), which takes files of any size
through S3. So the documented limit is: at most 5 MiB of body, and an event that fits 6 MiB.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, Literal

from pg8000.dbapi import DatabaseError
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from pulse import dataversion, db
from pulse.errors import ApiError
from pulse.ingest import ImportResult, IngestValidationError, import_lines, load_records

LAMBDA_EVENT_BYTES: Final = 6 * 1024 * 1024
MAX_BATCH_BYTES: Final = 5 * 1024 * 1024
MAX_INFLATED_BYTES: Final = 64 * 1024 * 1024
UPLOAD_ROUTE: Final = "/api/v1/ingest/uploads"
NDJSON_TYPES: Final = (
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
)
SHOWN_ERRORS: Final = 1000  # a 422 lists at most this many bad lines (and says how many there were)

# Imports run one at a time (``pulse.ingest.loader``); a request waits this long for a running
# one (a bulk upload can take minutes), then gets 503 instead of API Gateway's 30 s cut-off.
LOCK_WAIT_SECONDS: Final = 20.0
RETRY_AFTER_SECONDS: Final = 30
LOCK_NOT_AVAILABLE: Final = "55P03"

SingleType = Literal["deployment", "incident"]


def _sqlstate(error: Exception) -> str | None:
    """The SQLSTATE of a pg8000 error, raw (the loader's COPY cursor) or wrapped by SQLAlchemy."""
    arguments = getattr(getattr(error, "orig", error), "args", ())
    detail = arguments[0] if arguments else None
    return detail.get("C") if isinstance(detail, dict) else None


@contextmanager
def ingest_transaction(wait_seconds: float | None = None) -> Iterator[Connection]:
    """A write transaction that waits at most ``LOCK_WAIT_SECONDS`` for locks (503 after)."""
    wait = LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    try:
        with db.transaction() as connection:
            connection.execute(text(f"SET LOCAL lock_timeout = '{int(wait * 1000)}ms'"))
            yield connection
    except (DBAPIError, DatabaseError) as error:
        if _sqlstate(error) != LOCK_NOT_AVAILABLE:
            raise
        raise ApiError(
            503,
            "ingest_busy",
            f"Another import is running; nothing was written. Retry in {RETRY_AFTER_SECONDS} s.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None


def too_large(size: int, limit: int, what: str) -> ApiError:
    """413 with the envelope, pointing at the upload route."""
    return ApiError(
        413,
        "payload_too_large",
        f"{what} is {size} bytes; the limit is {limit} bytes. "
        f"Send larger imports with POST {UPLOAD_ROUTE} (a presigned S3 upload of any size).",
        details={"size_bytes": size, "limit_bytes": limit, "upload_route": UPLOAD_ROUTE},
    )


def batch_body(body: bytes, *, content_type: str | None, content_encoding: str | None) -> bytes:
    """The NDJSON of a batch request: media type checked, gzip inflated, size limits enforced."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in NDJSON_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Send the batch as NDJSON with 'Content-Type: application/x-ndjson' (got '{media_type or 'none'}').",
        )
    if len(body) > MAX_BATCH_BYTES:
        raise too_large(len(body), MAX_BATCH_BYTES, "The batch")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise ApiError(
            415, "unsupported_media_type", f"Content-Encoding '{encoding}' is not supported (use gzip)."
        )
    return inflate(body)


def inflate(body: bytes) -> bytes:
    """Decompress a gzip body, refusing to inflate past ``MAX_INFLATED_BYTES``."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_INFLATED_BYTES + 1)
    except zlib.error as error:
        raise ApiError(400, "bad_request", f"The body is not valid gzip: {error}.") from None
    if len(data) > MAX_INFLATED_BYTES:
        raise too_large(len(data), MAX_INFLATED_BYTES, "The inflated batch")
    if not inflater.eof:
        raise ApiError(400, "bad_request", "The gzip body is truncated.")
    return data


def invalid(errors: list[str], what: str) -> ApiError:
    """422 listing every bad line or field (the first ``SHOWN_ERRORS`` of them)."""
    shown = errors[:SHOWN_ERRORS]
    more = f" (first {SHOWN_ERRORS} listed)" if len(errors) > SHOWN_ERRORS else ""
    return ApiError(
        422,
        "validation_error",
        f"{len(errors)} invalid {what}{more}; nothing was written: " + "; ".join(shown[:3]),
        details=shown,
    )


def summary(connection: Connection, result: ImportResult) -> dict[str, Any]:
    """What an accepted write did, for the response."""
    state = dataversion.current(connection)
    return {
        "accepted": result.accepted,
        "by_type": dict(sorted(result.by_type.items())),
        "changed": result.changed > 0,
        "data_version": state.version,
        "data_updated_at": state.updated_at,
    }


def ingest_batch(connection: Connection, *, ndjson: bytes) -> dict[str, Any]:
    """Validate and load an NDJSON batch in the caller's transaction; 422 lists every bad line."""
    try:
        result = import_lines(connection, ndjson.splitlines())
    except IngestValidationError as error:
        raise invalid(error.errors, "line(s)") from None
    return summary(connection, result)


def ingest_one(connection: Connection, *, kind: SingleType, document: Any) -> dict[str, Any]:
    """Load one ``deployment`` or ``incident`` given as a JSON object whose ``type`` is implied."""
    if not isinstance(document, Mapping):
        raise ApiError(422, "validation_error", f"Send one {kind} as a JSON object.")
    declared = document.get("type", kind)
    if declared != kind:
        raise ApiError(
            422, "validation_error", f'"type" is "{declared}"; this route takes "{kind}" records only.'
        )
    try:
        result = load_records(connection, [{**document, "type": kind}])
    except IngestValidationError as error:
        raise invalid([reason.removeprefix("record 1: ") for reason in error.errors], "field(s)") from None
    return {"type": kind, "id": document.get("id"), **summary(connection, result)}
