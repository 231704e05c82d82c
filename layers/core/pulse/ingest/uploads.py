"""Bulk upload through S3: an import job, a presigned PUT URL, and the import S3 triggers.

1. ``create`` (``POST /api/v1/ingest/uploads``) records a job ``awaiting_upload`` and presigns a
   PUT of ``uploads/{job id}.ndjson`` (``.ndjson.gz`` for gzip) in ``INGEST_UPLOAD_BUCKET``,
   valid ``INGEST_UPLOAD_URL_EXPIRES_SECONDS`` (and no longer than the credentials that signed it).
2. The client PUTs the file, of any size (S3 takes 5 GB in one PUT).
3. S3's ``ObjectCreated`` event invokes the import function, which ``run``s the job: it claims it
   (``awaiting_upload`` → ``running``, so a repeated event imports nothing twice), streams the
   object through ``pulse.ingest.import_lines`` in chunks (memory stays bounded whatever the size)
   in one transaction, and records the outcome in that same transaction: ``succeeded`` with the
   counts, or, when lines are bad, ``failed`` with nothing written and the first ``KEPT_ERRORS``
   ``line N: reason`` (``error_count`` has them all).
4. ``GET /api/v1/ingest/jobs/{id}`` reads the job (``view``). A job still ``running`` after
   ``RUN_TIMEOUT_SECONDS`` (the import function's timeout) is reported ``failed``: its function
   was stopped and its transaction rolled back.

One job takes one upload: a second PUT to the same key is not imported again (create a new job).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal
from urllib.parse import unquote_plus

from sqlalchemy import Connection, text

from pulse import db
from pulse.config import Settings
from pulse.ingest import IngestValidationError, import_lines
from pulse.observability import logger

PREFIX: Final = "uploads/"
KEPT_ERRORS: Final = 1000
RUN_TIMEOUT_SECONDS: Final = 900
READ_CHUNK_BYTES: Final = 1024 * 1024

Compression = Literal["none", "gzip"]


@lru_cache(maxsize=4)
def s3_client(region: str) -> Any:
    """The S3 client of this container (SigV4, so presigned URLs work in every region)."""
    from botocore.config import Config

    from pulse.observability import aws_client

    return aws_client("s3", region_name=region, config=Config(signature_version="s3v4"))


def object_key(job_id: str, compression: Compression) -> str:
    return f"{PREFIX}{job_id}.ndjson" + (".gz" if compression == "gzip" else "")


@dataclass(frozen=True)
class Upload:
    job_id: str
    upload_url: str
    bucket: str
    key: str
    expires_at: dt.datetime


def create(
    connection: Connection, *, settings: Settings, created_by: str, compression: Compression = "none"
) -> Upload:
    """Record a job awaiting its upload and presign the PUT that uploads it."""
    job_id = str(uuid.uuid4())
    key = object_key(job_id, compression)
    expires_in = settings.INGEST_UPLOAD_URL_EXPIRES_SECONDS
    url = s3_client(settings.AWS_REGION).generate_presigned_url(
        "put_object",
        Params={"Bucket": settings.INGEST_UPLOAD_BUCKET, "Key": key},
        ExpiresIn=expires_in,
        HttpMethod="PUT",
    )
    row = connection.execute(
        text(
            "INSERT INTO ingest_jobs (id, object_key, created_by) VALUES (:id, :key, :created_by) "
            "RETURNING created_at"
        ),
        {"id": job_id, "key": key, "created_by": created_by},
    ).one()
    return Upload(
        job_id, url, settings.INGEST_UPLOAD_BUCKET, key, row.created_at + dt.timedelta(seconds=expires_in)
    )


JOB_COLUMNS: Final = (
    "id::text AS id, status, object_key, created_by, size_bytes, accepted, changed, by_type, data_version, error_count, "
    "errors, error, created_at, started_at, finished_at, "
    f"status = 'running' AND started_at < now() - interval '{RUN_TIMEOUT_SECONDS} seconds' AS timed_out"
)


def view(connection: Connection, *, job_id: str) -> dict[str, Any] | None:
    """A job as the API shows it, or None when there is no such job."""
    try:
        uuid.UUID(job_id)
    except ValueError:
        return None
    row = connection.execute(
        text(f"SELECT {JOB_COLUMNS} FROM ingest_jobs WHERE id = :id"), {"id": job_id}
    ).first()
    if row is None:
        return None
    job = row._asdict()
    if job.pop("timed_out"):
        job["status"] = "failed"
        job["error"] = (
            f"the import did not finish within {RUN_TIMEOUT_SECONDS} s (the import function's timeout)"
        )
    job["by_type"] = job["by_type"] or {}
    return job


def _claim(key: str, size: int | None) -> str | None:
    """Move the job of ``key`` from awaiting_upload to running; None when there is none to run."""
    with db.transaction() as connection:
        row = connection.execute(
            text(
                "UPDATE ingest_jobs SET status = 'running', started_at = now(), updated_at = now(), "
                "size_bytes = :size WHERE object_key = :key AND status = 'awaiting_upload' RETURNING id"
            ),
            {"key": key, "size": size},
        ).first()
    return None if row is None else str(row.id)


def _finish(connection: Connection, job_id: str, **values: Any) -> None:
    assignments = ", ".join(
        f"{name} = CAST(:{name} AS jsonb)" if name in ("by_type", "errors") else f"{name} = :{name}"
        for name in values
    )
    connection.execute(
        text(
            f"UPDATE ingest_jobs SET {assignments}, updated_at = now(), finished_at = now() WHERE id = :job_id"
        ),
        {**values, "job_id": job_id},
    )


def lines_of(body: Any, *, compressed: bool) -> Iterator[bytes]:
    """The lines of an S3 object body, read in chunks (inflated on the fly when gzip)."""
    if compressed:
        with gzip.GzipFile(fileobj=body) as inflated:
            yield from inflated
        return
    yield from body.iter_lines(chunk_size=READ_CHUNK_BYTES)


def run(
    *, bucket: str, key: str, size: int | None, settings: Settings, body: Iterable[bytes] | None = None
) -> str | None:
    """Import the object ``key`` for its job; the job id, or None when no job was waiting for it.

    ``body``: the object's lines when already at hand (tests); otherwise read from S3.
    """
    job_id = _claim(key, size)
    if job_id is None:
        logger.warning("upload ignored: no job awaits this object", extra={"bucket": bucket, "key": key})
        return None
    logger.info("upload import started", extra={"job_id": job_id, "key": key, "size_bytes": size})
    try:
        if body is None:
            obj = s3_client(settings.AWS_REGION).get_object(Bucket=bucket, Key=key)
            body = lines_of(obj["Body"], compressed=key.endswith(".gz"))
        with db.transaction() as connection:
            result = import_lines(connection, body)
            _finish(
                connection,
                job_id,
                status="succeeded",
                accepted=result.accepted,
                changed=result.changed,
                by_type=json.dumps(result.by_type),
                data_version=result.data_version,
            )
    except IngestValidationError as error:
        with db.transaction() as connection:
            _finish(
                connection,
                job_id,
                status="failed",
                error_count=len(error.errors),
                errors=json.dumps(error.errors[:KEPT_ERRORS]),
                error=f"{len(error.errors)} invalid line(s); nothing was written",
            )
        logger.info("upload rejected", extra={"job_id": job_id, "errors": len(error.errors)})
        return job_id
    except Exception as error:  # the job must not stay "running" whatever went wrong
        logger.exception("upload import failed", extra={"job_id": job_id})
        with db.transaction() as connection:
            _finish(connection, job_id, status="failed", error=f"{type(error).__name__}: {error}"[:2000])
        return job_id
    logger.info(
        "upload imported", extra={"job_id": job_id, "accepted": result.accepted, "changed": result.changed}
    )
    return job_id


def object_created(record: dict[str, Any]) -> tuple[str, str, int | None] | None:
    """``(bucket, key, size)`` of an S3 ObjectCreated event record under ``uploads/``, else None."""
    if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
        return None
    s3 = record.get("s3") or {}
    bucket = (s3.get("bucket") or {}).get("name")
    raw_key = (s3.get("object") or {}).get("key")
    if not bucket or not raw_key:
        return None
    key = unquote_plus(raw_key)  # S3 event keys are URL-encoded, spaces as '+'
    if not key.startswith(PREFIX):
        return None
    size = (s3.get("object") or {}).get("size")
    return bucket, key, size if isinstance(size, int) else None
