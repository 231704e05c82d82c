"""``pulse import FILE... | -``: load NDJSON files (``.gz`` too; ``-`` is stdin) in one transaction."""

from __future__ import annotations

import gzip
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TextIO

from pulse.ingest import CHUNK_RECORDS, Importer, ImportResult, IngestValidationError


@contextmanager
def _open(path: str, stdin: IO[bytes]) -> Iterator[Iterable[bytes]]:
    if path == "-":
        yield stdin
    elif path.endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            yield handle
    else:
        with open(path, "rb") as handle:
            yield handle


class _Progress:
    """Prints lines read and the rate to stderr, once per chunk, for files bigger than a chunk."""

    def __init__(self, label: str, stream: TextIO, started: float) -> None:
        self.label = label
        self.stream = stream
        self.started = started

    def __call__(self, lines: int) -> None:
        if lines >= CHUNK_RECORDS:
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            print(f"{self.label}: {lines:,} lines ({lines / elapsed:,.0f}/s)", file=self.stream, flush=True)


def import_files(
    paths: list[str],
    *,
    stdin: IO[bytes] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Import ``paths`` all or nothing; every bad line goes to stderr. Exit code 0, 1 (bad lines) or 2."""
    from pulse.db import transaction

    out = stdout or sys.stdout
    err = stderr or sys.stderr
    missing = [path for path in paths if path != "-" and not Path(path).is_file()]
    if missing:
        for path in missing:
            print(f"pulse import: {path}: no such file", file=err)
        return 2
    started = time.perf_counter()
    try:
        with transaction() as connection:
            importer = Importer(connection)
            for path in paths:
                label = ("stdin" if path == "-" else path) if len(paths) > 1 else ""
                with _open(path, stdin or sys.stdin.buffer) as lines:
                    progress = _Progress("stdin" if path == "-" else path, err, time.perf_counter())
                    importer.add_lines(lines, label=label, progress=progress, decode_in_child=True)
            if importer.loader.accepted >= CHUNK_RECORDS and not importer.errors:
                print("resolving shipped commits...", file=err, flush=True)
            result = importer.finish()
    except IngestValidationError as error:
        for line in error.errors:
            print(line, file=err)
        print(f"{len(error.errors):,} bad line(s): nothing was imported.", file=err)
        return 1
    print(summary(result, time.perf_counter() - started), file=out)
    return 0


def summary(result: ImportResult, seconds: float) -> str:
    """Counts by type, the rate, and whether the data changed."""
    rate = result.accepted / seconds if seconds > 0 else 0.0
    counts = ", ".join(
        f"{kind} {count:,}" for kind, count in sorted(result.by_type.items(), key=lambda kv: -kv[1])
    )
    lines = [f"imported {result.accepted:,} records in {seconds:.1f} s ({rate:,.0f} records/s)"]
    if counts:
        lines.append(f"  {counts}")
    if result.data_version is None:
        lines.append("  nothing changed (data version unchanged)")
    else:
        lines.append(f"  {result.changed:,} rows written; data version {result.data_version}")
    return "\n".join(lines)
