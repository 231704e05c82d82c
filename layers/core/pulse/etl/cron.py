"""Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC.

Each field is ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma-separated
list of those. Day of week is 0-7 (0 and 7 are Sunday). As in Vixie cron, when both day of month
and day of week are restricted a day matches if either does. Names (``MON``, ``JAN``) and
EventBridge's six-field ``?`` syntax are not accepted: one dialect, validated at save time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)


class CronError(ValueError):
    """An expression that is not valid five-field cron."""


def _number(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit():
        raise CronError(f"{name}: '{text}' is not a number")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name}: {value} is outside {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = _number(step_text, name, 1, high - low + 1) if step_text else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, _, last = span.partition("-")
            start, end = _number(first, name, low, high), _number(last, name, low, high)
            if start > end:
                raise CronError(f"{name}: range {span} runs backwards")
        else:
            start = _number(span, name, low, high)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    def matches(self, moment: dt.datetime) -> bool:
        """Whether the minute of ``moment`` (UTC) is one this expression fires at."""
        moment = moment.astimezone(dt.UTC)
        if moment.minute not in self.minutes or moment.hour not in self.hours:
            return False
        if moment.month not in self.months:
            return False
        day = moment.day in self.days
        weekday = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday

    def latest(self, after: dt.datetime, until: dt.datetime) -> dt.datetime | None:
        """The latest firing minute in ``(after, until]``, or None; looks at most a day back."""
        moment = until.astimezone(dt.UTC).replace(second=0, microsecond=0)
        floor = max(after, moment - dt.timedelta(days=1))
        while moment > floor:
            if self.matches(moment):
                return moment
            moment -= dt.timedelta(minutes=1)
        return None


def parse(expression: str) -> Cron:
    """Parse a five-field expression; ``CronError`` says which field is wrong."""
    parts = expression.split()
    if len(parts) != 5:
        raise CronError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}")
    sets = [_field(part, name, low, high) for part, (name, low, high) in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(day % 7 for day in sets[4])
    return Cron(sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] == "*", parts[4] == "*")
