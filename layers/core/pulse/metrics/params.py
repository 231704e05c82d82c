"""The query parameters every analytics route takes, as a FastAPI dependency (``CommonDep``).

Validation rules: ``pulse.metrics.common`` (metrics.md "Common to every analytics endpoint").
``UserDep`` (a signed-in person, not an API key) is what every analytics route requires.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from pulse.auth.context import UserDep
from pulse.metrics.common import Benchmark, CommonParams, Interval, make_window


class CommonQuery(BaseModel):
    """The common query parameters as one model.

    FastAPI analyses a dependency's parameters again for every route (a pydantic adapter each);
    a model's schema is built once, which takes most of that work off the analytics functions'
    cold start. The OpenAPI document lists the same parameters either way.
    """

    start_date: dt.date | None = Field(default=None, description="First day (inclusive), ISO date")
    end_date: dt.date | None = Field(default=None, description="Last day (inclusive), ISO date")
    tz: str = Field(default="UTC", description="IANA time zone for the window and buckets")
    team: list[str] | None = Field(default=None, description="Team key (repeatable; includes sub-teams)")
    repository: list[str] | None = Field(default=None, description="Repository owner/name (repeatable)")
    interval: Interval = Field(default="week", description="Series bucket")
    environment: str = Field(default="production", description="Deployment environment")
    benchmark: Benchmark = Field(default="2023", description="DORA tier table")


async def common_params(query: Annotated[CommonQuery, Query()]) -> CommonParams:
    """Parse the parameters every analytics endpoint takes."""
    return CommonParams(
        window=make_window(query.start_date, query.end_date, query.tz),
        teams=tuple(dict.fromkeys(query.team or ())),
        repositories=tuple(dict.fromkeys(query.repository or ())),
        interval=query.interval,
        environment=query.environment,
        benchmark=query.benchmark,
    )


CommonDep = Annotated[CommonParams, Depends(common_params)]

__all__ = ["CommonDep", "CommonQuery", "UserDep", "common_params"]
