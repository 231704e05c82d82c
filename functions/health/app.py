"""Health: is this deployment up, and can it reach its database and Redis?"""

from __future__ import annotations

import pulse.coldstart

from typing import Any

from pulse import cache, db
from pulse.config import VERSION, get_settings
from pulse.errors import ApiError
from pulse.handler import RouteGroup, create_app, make_handler

app = create_app(title="Pulse health")
router = RouteGroup(app, prefix=get_settings().API_V1_PREFIX, tags=["health"])


@router.get("/health")
def health() -> dict[str, Any]:
    """Status, version, and database and Redis reachability with their latency (503 without a database)."""
    database_ms = db.ping()
    redis_ms = cache.ping()
    checks = {
        "database": {"ok": database_ms is not None, "latency_ms": database_ms},
        "redis": {"ok": redis_ms is not None, "latency_ms": redis_ms},
    }
    if database_ms is None:
        raise ApiError(503, "database_unavailable", "The database is unreachable.", details=checks)
    status = "ok" if redis_ms is not None else "degraded"
    return {"status": status, "version": VERSION, **checks}


handler = make_handler(app)

pulse.coldstart.settle()  # the end of this function's initialisation
