"""``pulse seed-demo``: generate the demo organisation and load it through the import path."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy import Connection, text

from pulse.demo.generator import SCALES, Record, Scale, ScaleName, generate, team_profiles

# Records per COPY batch: big enough for COPY to pay off, small enough to bound memory.
CHUNK_SIZE = 50_000
# Roughly how many records each scale yields (seed 42), for the progress bar's percentage.
ESTIMATED_RECORDS = {"small": 17_000, "large": 2_400_000}


@dataclass
class SeedReport:
    """What a demo load did and where its time went."""

    counts: dict[str, int] = field(default_factory=dict)  # records loaded, by type
    seconds: float = 0.0
    generation_seconds: float = 0.0  # inside the generator (overlaps loading: another thread)
    finish_seconds: float = 0.0  # the import's final step: shipped commits, data version
    data_version: int | None = None

    @property
    def records(self) -> int:
        """Records loaded."""
        return sum(self.counts.values())


class Progress:
    """A one-line progress bar on a text stream: share done, records/s and counts by type."""

    WIDTH = 24

    def __init__(self, stream: TextIO, total: int | None, label: str = "seed-demo") -> None:
        self.stream = stream
        self.total = total
        self.label = label
        self.started = time.perf_counter()
        self.shown = 0.0
        self.tty = stream.isatty()
        # A log file gets a line every few seconds instead of a redrawn bar.
        self.interval = 0.2 if self.tty else 5.0

    def line(self, counts: Counter[str], final: bool = False) -> str:
        """The bar's text for ``counts`` (``final``: the work is complete, whatever the estimate)."""
        done = sum(counts.values())
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        if self.total:
            share = 1.0 if final else min(done / self.total, 0.99)
            filled = int(share * self.WIDTH)
            bar = f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {share:4.0%} "
        else:
            bar = ""
        by_type = " · ".join(f"{name} {count:,}" for name, count in counts.most_common())
        return f"{self.label} {bar}{done:,} records {done / elapsed:,.0f}/s  {by_type}"

    def update(self, counts: Mapping[str, int], final: bool = False) -> None:
        """Redraw when the last drawing is older than the interval (or when ``final``)."""
        now = time.perf_counter()
        if not final and now - self.shown < self.interval:
            return
        self.shown = now
        line = self.line(Counter(counts), final)
        self.stream.write("\r\x1b[2K" + line if self.tty else line + "\n")
        self.stream.flush()

    def finish(self, counts: Mapping[str, int]) -> None:
        """Draw the final state and end the line."""
        self.update(counts, final=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def has_repositories(connection: Connection) -> bool:
    """Whether the database already holds repositories (then ``--if-empty`` loads nothing)."""
    return bool(connection.execute(text("SELECT EXISTS (SELECT 1 FROM repositories)")).scalar())


def _observed(records: Iterator[Record], report: SeedReport, progress: Progress | None) -> Iterator[Record]:
    """``records``, timing the generator and drawing progress as they pass."""
    counts: Counter[str] = Counter()
    clock = time.perf_counter
    seen = 0
    while True:
        started = clock()
        record = next(records, None)
        report.generation_seconds += clock() - started
        if record is None:
            break
        counts[record["type"]] += 1
        seen += 1
        if progress is not None and not seen % 5000:
            progress.update(counts)
        yield record
    if progress is not None:
        progress.finish(counts)


def load_demo(
    connection: Connection,
    *,
    scale: ScaleName | Scale,
    seed: int,
    today: dt.date,
    progress: Progress | None = None,
) -> SeedReport:
    """Generate the demo organisation and load it through the import path, in the caller's transaction.

    One ``pulse.ingest.Importer`` (the machinery of ``load_records``) takes every record in
    chunks of ``CHUNK_SIZE``: the generator runs in its prefetch thread while PostgreSQL writes
    the previous chunk, and the shipped commits and the data version are derived once at the end
    rather than once per chunk.
    """
    from pulse.ingest import Importer

    report = SeedReport()
    started = time.perf_counter()
    importer = Importer(connection, chunk=CHUNK_SIZE)
    importer.add_records(_observed(generate(scale, seed, today), report, progress))
    finishing = time.perf_counter()
    result = importer.finish()
    report.finish_seconds = time.perf_counter() - finishing
    report.seconds = time.perf_counter() - started
    report.counts = dict(result.by_type)
    report.data_version = result.data_version
    return report


def summary(report: SeedReport, *, scale: ScaleName | Scale, seed: int, today: dt.date) -> str:
    """A few lines saying what was loaded, how fast, and which teams to look at."""
    size = SCALES[scale] if isinstance(scale, str) else scale
    rate = report.records / report.seconds if report.seconds else 0.0
    profiles = team_profiles(scale, seed, today)
    by_profile: dict[str, list[str]] = {}
    for team, profile in profiles.items():
        by_profile.setdefault(profile, []).append(team)
    lines = [
        f"Loaded the {size.name} demo organisation (seed {seed}, {size.days} days ending {today.isoformat()}): "
        f"{report.records:,} records in {report.seconds:.1f} s ({rate:,.0f}/s; of which generating "
        f"{report.generation_seconds:.1f} s, overlapping the load, and deriving shipped commits "
        f"{report.finish_seconds:.1f} s)",
        "  " + " · ".join(f"{name} {count:,}" for name, count in Counter(report.counts).most_common()),
    ]
    for profile in ("fast", "slow", "degrading"):
        teams = by_profile.get(profile, [])
        if teams:
            lines.append(f"  {profile} teams: {', '.join(teams)}")
    return "\n".join(lines)


def seed_demo(
    *,
    scale: ScaleName,
    seed: int = 42,
    if_empty: bool = False,
    today: dt.date | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Load the demo organisation into the configured database in one transaction; exit code."""
    from pulse.db import transaction

    out = stdout or sys.stdout
    err = stderr or sys.stderr
    today = today or dt.datetime.now(dt.UTC).date()
    with transaction() as connection:
        if if_empty and has_repositories(connection):
            print("Demo data not loaded: the database already holds repositories.", file=out)
            return 0
        progress = Progress(err, ESTIMATED_RECORDS.get(scale))
        report = load_demo(connection, scale=scale, seed=seed, today=today, progress=progress)
    print(summary(report, scale=scale, seed=seed, today=today), file=out)
    return 0
