"""Strict NDJSON ingest (``ingest-format.md``): validate, then bulk-load in the caller's transaction.

The one path into the database for ``pulse import``, the demo generator and the HTTP ingest API:

- ``validate(lines)``: parsed valid records (as dicts) and ``line N: <reason>`` errors;
- ``import_lines(connection, lines)``: validate and load NDJSON lines, streaming in chunks;
  raises ``IngestValidationError`` listing every bad line, having written nothing it keeps
  (the caller rolls its transaction back, as ``pulse.db.transaction`` does on error);
- ``load_records(connection, records)``: the same for records given as dicts;
- ``Importer``: several ``add_lines``/``add_records`` calls in one transaction, with the
  derived data (shipped commits) and the data version done once in ``finish``.

Memory stays bounded by the chunk size (``CHUNK_RECORDS``) whatever the input size.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from pulse.ingest.batch import FRESH_TABLES, FreshKeys
from pulse.ingest.loader import (
    CHUNK_RECORDS,
    ImportResult,
    IngestValidationError,
    Loader,
    Progress,
    forked_line_batches,
    line_batches,
    prefetch,
    record_batches,
)
from pulse.ingest.records import InvalidRecord, as_dict, decode

__all__ = [
    "CHUNK_RECORDS",
    "ImportResult",
    "Importer",
    "IngestValidationError",
    "import_lines",
    "load_records",
    "validate",
]


def validate(lines: Iterable[str | bytes]) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse and check NDJSON lines: the valid records (as dicts) and ``line N: reason`` errors.

    Blank lines are skipped (they still count for line numbers).
    """
    records: list[dict[str, Any]] = []
    errors: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line or line.isspace():
            continue
        try:
            records.append(as_dict(decode(line)))
        except InvalidRecord as error:
            errors.append(f"line {number}: {error}")
    return records, errors


class Importer:
    """An import into the caller's transaction, fed by one or more calls, closed by ``finish``."""

    def __init__(self, connection: Connection, *, chunk: int = CHUNK_RECORDS) -> None:
        self.loader = Loader(connection)
        self.chunk = chunk
        self.errors: list[str] = []

    def add_lines(
        self,
        lines: Iterable[str | bytes],
        *,
        label: str = "",
        progress: Progress | None = None,
        decode_in_child: bool = False,
    ) -> None:
        """Validate and load NDJSON lines; bad lines are collected (``label``: prefix, e.g. a file name).

        ``decode_in_child``: decode in a forked process (``forked_line_batches``) rather than a
        thread of this one, for big inputs that ``lines`` reads from a file or stdin.
        """
        fresh = self._fresh_keys()
        if decode_in_child:
            batches = forked_line_batches(
                lines, self.errors, label=label, chunk=self.chunk, progress=progress, fresh=fresh
            )
        else:
            batches = prefetch(
                line_batches(
                    lines, self.errors, label=label, chunk=self.chunk, progress=progress, fresh=fresh
                )
            )
        for batch, payloads in batches:
            self.loader.load(batch, payloads)

    def add_records(self, records: Iterable[Any]) -> None:
        """Validate and load records given as dicts (or ``pulse.ingest.records`` structs).

        Unlike lines, records are not flagged fresh (``FreshKeys``): their main caller, the demo
        generator, is bound by its own Python, to which tracking the keys adds (the large demo:
        236.0 / 236.6 s against 200.8 / 224.0 s, interleaved), not by PostgreSQL.
        """
        for batch, payloads in prefetch(record_batches(records, self.errors, chunk=self.chunk)):
            self.loader.load(batch, payloads)

    def _fresh_keys(self) -> FreshKeys:
        """For the lines of one call: rows new to a table that was empty when it began are
        inserted without an upsert's conflict check."""
        empty = self.loader.empty_tables(FRESH_TABLES.values())
        return FreshKeys(staging for staging, table in FRESH_TABLES.items() if table in empty)

    def finish(self) -> ImportResult:
        """Raise ``IngestValidationError`` if anything was bad, else derive and bump the version."""
        if self.errors:
            raise IngestValidationError(self.errors)
        return self.loader.finish()


def import_lines(
    connection: Connection, lines: Iterable[str | bytes], *, progress: Progress | None = None
) -> ImportResult:
    """Validate and load NDJSON lines in the caller's transaction (all or nothing)."""
    importer = Importer(connection)
    importer.add_lines(lines, progress=progress)
    return importer.finish()


def load_records(connection: Connection, records: Iterable[Any]) -> ImportResult:
    """Validate and load records (dicts in the ingest format) in the caller's transaction.

    Bad records raise ``IngestValidationError`` with ``record N: reason`` (1-based).
    """
    importer = Importer(connection)
    importer.add_records(records)
    return importer.finish()
