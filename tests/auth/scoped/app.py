"""A test-only function: one route per kind of caller check, behind the real authorizer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from pulse.auth.context import Caller, UserDep, require_roles, require_scope
from pulse.handler import RouteGroup, create_app, make_handler

app = create_app(title="scoped (tests)")
router = RouteGroup(app, prefix="/api/v1/scoped")


@router.post("/ingest")
def ingest(caller: Annotated[Caller, Depends(require_scope("ingest"))]) -> dict[str, Any]:
    return {"subject": caller.subject, "kind": caller.kind}


@router.post("/etl-report")
def etl_report(caller: Annotated[Caller, Depends(require_scope("etl"))]) -> dict[str, Any]:
    return {"subject": caller.subject, "kind": caller.kind}


@router.get("/analytics")
def analytics(caller: UserDep) -> dict[str, Any]:
    return {"subject": caller.subject, "teams": list(caller.teams)}


@router.get("/executive")
def executive(caller: Annotated[Caller, Depends(require_roles("admin", "executive"))]) -> dict[str, Any]:
    return {"role": caller.role}


handler = make_handler(app)
