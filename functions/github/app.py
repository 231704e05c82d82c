"""GitHub analytics: PR flow and review health, contributors, repository insights, code quality.

Definitions live next to their SQL in ``pulse.metrics.{pull_requests,contributors,repositories,
quality}``; this module parses parameters and serves them cache-aside (``pulse.metrics.common``).
"""

from __future__ import annotations

import pulse.coldstart

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from pulse.config import get_settings
from pulse.handler import RouteGroup, create_app, make_handler
from pulse.metrics import contributors, quality, repositories
from pulse.metrics import pull_requests as prs
from pulse.metrics.common import Caller, CommonParams, Scope, answer
from pulse.metrics.params import CommonDep, UserDep

app = create_app(title="Pulse GitHub analytics")
router = RouteGroup(app, prefix=f"{get_settings().API_V1_PREFIX}/analytics/github", tags=["github"])

Author = Annotated[str | None, Query(description="Only PRs authored by this login")]
SizeParam = Annotated[
    prs.Size | None,
    Query(description="Changed lines (additions + deletions): xs < 10, s < 50, m < 250, l < 1000, xl ≥ 1000"),
]
Label = Annotated[str | None, Query(description="Only PRs carrying this label")]
Cursor = Annotated[str | None, Query(description="Opaque cursor from the previous page's next_cursor")]


def _serve(
    namespace: str,
    caller: Caller,
    params: CommonParams,
    compute: Callable[[Connection, Scope], dict[str, Any]],
) -> JSONResponse:
    """``answer`` as a JSONResponse: the body is plain JSON already (it round-trips through Redis),
    so FastAPI's re-encoding is skipped (~10 ms for a page of 100 PRs)."""
    return JSONResponse(answer(namespace, caller, params, compute))


def _pr_filter(author: str | None, size: prs.Size | None, label: str | None) -> prs.PullRequestFilter:
    return prs.PullRequestFilter(author=author, size=size, label=label)


@router.get("/pull-requests")
def pull_requests(
    caller: UserDep,
    params: CommonDep,
    author: Author = None,
    size: SizeParam = None,
    label: Label = None,
    limit: Annotated[int, Query(ge=1, le=prs.MAX_LIMIT)] = prs.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> JSONResponse:
    """Merged PRs of the window with their stages, one page by merged_at, and pooled stage medians."""
    pr_filter = _pr_filter(author, size, label)
    params = replace(
        params, extra={"author": author, "size": size, "label": label, "limit": limit, "cursor": cursor}
    )
    return _serve(
        "github.pull-requests",
        caller,
        params,
        lambda connection, scope: prs.pull_requests_page(
            connection,
            window=params.window,
            scope=scope,
            environment=params.environment,
            pr_filter=pr_filter,
            limit=limit,
            cursor=cursor,
        ),
    )


@router.get("/pull-requests/trends")
def pull_request_trends(
    caller: UserDep, params: CommonDep, author: Author = None, size: SizeParam = None, label: Label = None
) -> JSONResponse:
    """Per interval: merged PRs, stage medians and the share merged without a non-author approval."""
    pr_filter = _pr_filter(author, size, label)
    params = replace(params, extra={"author": author, "size": size, "label": label})
    return _serve(
        "github.pull-request-trends",
        caller,
        params,
        lambda connection, scope: {
            "series": prs.trends(
                connection,
                window=params.window,
                scope=scope,
                interval=params.interval,
                environment=params.environment,
                pr_filter=pr_filter,
            )
        },
    )


@router.get("/contributors")
def contributor_list(
    caller: UserDep,
    params: CommonDep,
    limit: Annotated[int, Query(ge=1, le=contributors.MAX_LIMIT)] = contributors.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> JSONResponse:
    """Non-bot contributors active in the window, by login: activity, review load, heatmap."""
    params = replace(params, extra={"limit": limit, "cursor": cursor})
    return _serve(
        "github.contributors",
        caller,
        params,
        lambda connection, scope: contributors.contributors_page(
            connection, window=params.window, scope=scope, limit=limit, cursor=cursor
        ),
    )


@router.get("/contributors/{login}")
def contributor(caller: UserDep, params: CommonDep, login: Annotated[str, Path()]) -> JSONResponse:
    """One contributor's stats, plus who reviews them most and whom they review most."""
    params = replace(params, extra={"login": login})
    return _serve(
        "github.contributor",
        caller,
        params,
        lambda connection, scope: contributors.contributor_detail(
            connection, window=params.window, scope=scope, login=login
        ),
    )


@router.get("/repositories/{owner}/{name}/insights")
def repository_insights(
    caller: UserDep, params: CommonDep, owner: Annotated[str, Path()], name: Annotated[str, Path()]
) -> JSONResponse:
    """Commit rhythm, PR sizes, review coverage, branch strategy, release cadence, knowledge spread."""
    # The path's repository replaces any ``repository`` filter; ``team`` still narrows (AND).
    params = replace(params, repositories=(f"{owner}/{name}",))
    return _serve(
        "github.repository-insights",
        caller,
        params,
        lambda connection, scope: {
            "repository": f"{owner}/{name}",
            **repositories.insights(
                connection, window=params.window, scope=scope, environment=params.environment
            ),
        },
    )


@router.get("/code-quality")
def code_quality(caller: UserDep, params: CommonDep) -> JSONResponse:
    """Per repository: latest coverage, complexity, duplication, issues, vulnerabilities; change; series."""
    return _serve(
        "github.code-quality",
        caller,
        params,
        lambda connection, scope: {
            "items": quality.code_quality(
                connection, window=params.window, scope=scope, interval=params.interval
            )
        },
    )


handler = make_handler(app)

pulse.coldstart.settle()  # the end of this function's initialisation
