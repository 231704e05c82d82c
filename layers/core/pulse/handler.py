"""The one way to build a function: a FastAPI app behind Mangum with Powertools around it."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.types import DecoratedCallable
from mangum import Mangum

from pulse.config import VERSION, get_settings
from pulse.errors import install_error_handlers
from pulse.observability import logger, metrics, tracer

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def create_app(*, title: str, description: str = "") -> FastAPI:
    """A FastAPI app for one route group, with the error envelope and CORS.

    Routes are declared on it through ``RouteGroup``. Interactive docs are served once for the whole API by the ``docs`` function.
    """
    app = FastAPI(
        title=title,
        description=description,
        version=VERSION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=get_settings().CORS_ORIGINS,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    return app


def on_the_event_loop(endpoint: DecoratedCallable) -> DecoratedCallable:
    """``endpoint`` as a coroutine function that runs it inline, when it is a plain function.

    FastAPI runs a plain (``def``) endpoint in anyio's worker thread so that it cannot block
    other requests on the event loop. A Lambda environment serves one request at a time (and
    ``pulse serve`` gives each request its own thread and loop), so there is nothing to protect,
    while the worker thread costs every cold start ~30 ms (anyio's asyncio backend imported, a
    thread started: the Auth login's first invocation took 113-114 ms through it, 80-84 ms
    inline) and every request a hand-off. Endpoints keep their signature for FastAPI
    (``functools.wraps``: it reads the wrapped function's parameters and annotations).
    """
    if (
        not inspect.isfunction(endpoint)
        or inspect.iscoroutinefunction(endpoint)
        or inspect.isgeneratorfunction(endpoint)
    ):
        return endpoint

    @functools.wraps(endpoint)
    async def inline(*args: Any, **kwargs: Any) -> Any:
        return endpoint(*args, **kwargs)

    return cast(DecoratedCallable, inline)


class RouteGroup:
    """A function's routes under one path prefix and tags, declared like an ``APIRouter``'s.

    ``@router.get("/summary")`` registers ``{prefix}/summary`` on the app itself. FastAPI builds a
    route of an included ``APIRouter`` twice, in the router and again for the app at the first
    request (the dependency analysis and a pydantic adapter per parameter, a few ms per route):
    registered on the app, each route is built once, which shortens every cold start. Plain
    endpoints run on the event loop (``on_the_event_loop``), and so do the shared dependencies
    (``pulse.auth.context``, ``pulse.metrics.params``), which are coroutine functions.
    """

    def __init__(
        self, app: FastAPI, *, prefix: str = "", tags: Sequence[str] = (), include_in_schema: bool = True
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.tags = list(tags)
        self.include_in_schema = include_in_schema

    def api_route(
        self, path: str, *, methods: list[str], **options: Any
    ) -> Callable[[DecoratedCallable], DecoratedCallable]:
        """Like ``APIRouter.api_route``: the prefix before ``path``, the group's tags before the route's."""
        register = self.app.api_route(
            self.prefix + path,
            methods=methods,
            tags=[*self.tags, *(options.pop("tags", None) or [])],
            include_in_schema=self.include_in_schema and options.pop("include_in_schema", True),
            **options,
        )

        def decorator(endpoint: DecoratedCallable) -> DecoratedCallable:
            register(on_the_event_loop(endpoint))
            return endpoint

        return decorator

    def get(self, path: str, **options: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.api_route(path, methods=["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.api_route(path, methods=["POST"], **options)

    def put(self, path: str, **options: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.api_route(path, methods=["PUT"], **options)

    def patch(self, path: str, **options: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.api_route(path, methods=["PATCH"], **options)

    def delete(self, path: str, **options: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.api_route(path, methods=["DELETE"], **options)


def make_handler(app: FastAPI) -> LambdaHandler:
    """The Lambda entry point for ``app``: Mangum (no lifespan) wrapped in Powertools."""
    asgi = Mangum(app, lifespan="off")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return asgi(event, context)

    return handler
