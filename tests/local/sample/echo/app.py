"""A route group that answers with what it received, for the local runtime's tests."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response

from pulse.handler import RouteGroup, create_app, make_handler

app = create_app(title="Echo")
router = RouteGroup(app)


def _seen(request: Request, **parsed: Any) -> dict[str, Any]:
    return {"event": request.scope["aws.event"], "parsed": parsed}


@router.get("/echo/{item}")
def echo(request: Request, item: str, tag: Annotated[list[str], Query()] = []) -> dict[str, Any]:  # noqa: B006
    """The event, and what FastAPI made of it."""
    return _seen(request, item=item, tags=tag, cookies=dict(request.cookies), host=request.url.hostname)


@router.post("/binary")
async def binary(request: Request) -> Response:
    """The request body sent back unchanged as application/octet-stream."""
    return Response(await request.body(), media_type="application/octet-stream")


@router.get("/cookies")
def cookies(response: Response) -> dict[str, bool]:
    """Sets two cookies."""
    response.set_cookie("session", "abc", httponly=True)
    response.set_cookie("theme", "dark")
    return {"ok": True}


@router.get("/items/special")
def special(request: Request) -> dict[str, Any]:
    """The exact route."""
    return _seen(request)


@router.get("/items/{id}")
def item(request: Request, id: str) -> dict[str, Any]:
    """The one-variable route."""
    return _seen(request)


@router.api_route("/items/{rest:path}", methods=["GET", "POST", "HEAD", "DELETE"])
def rest(request: Request, rest: str) -> dict[str, Any]:
    """The greedy route."""
    return _seen(request)


@router.get("/private/{id}")
def private(request: Request, id: str) -> dict[str, Any]:
    """A route behind the authorizer."""
    return _seen(request)


handler = make_handler(app)
