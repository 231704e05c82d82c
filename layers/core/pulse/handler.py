"""The one way to build a function: a FastAPI app behind Mangum with Powertools around it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from mangum import Mangum

from pulse.config import VERSION, get_settings
from pulse.errors import install_error_handlers
from pulse.observability import logger, metrics, tracer

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def create_app(*routers: APIRouter, title: str, description: str = "") -> FastAPI:
    """A FastAPI app for one route group: its routers, the error envelope and CORS.

    Interactive docs are served once for the whole API by the ``docs`` function.
    """
    app = FastAPI(
        title=title,
        description=description,
        version=VERSION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    for router in routers:
        app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=get_settings().CORS_ORIGINS,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    return app


def make_handler(app: FastAPI) -> LambdaHandler:
    """The Lambda entry point for ``app``: Mangum (no lifespan) wrapped in Powertools."""
    asgi = Mangum(app, lifespan="off")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return asgi(event, context)

    return handler
