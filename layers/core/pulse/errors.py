"""The shared JSON error envelope: ``{"error": {"code", "message", "request_id"}}``.

``ApiError`` is raised by plain Lambda handlers too (authorizer, WebSocket, queue consumers), so
FastAPI is imported only by the functions that build the envelope for an app: importing this
module must not cost those handlers FastAPI's ~130 ms of cold start.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from pulse.observability import logger

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse


class ApiError(Exception):
    """An error that reaches the caller as the envelope with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.details = details


def bad_request(message: str, code: str = "bad_request") -> ApiError:
    return ApiError(400, code, message)


def not_found(message: str, code: str = "not_found") -> ApiError:
    return ApiError(404, code, message)


def forbidden(message: str, code: str = "forbidden") -> ApiError:
    return ApiError(403, code, message)


def unprocessable(message: str, code: str = "validation_error", details: Any = None) -> ApiError:
    return ApiError(422, code, message, details=details)


def request_id_of(request: Request) -> str | None:
    """The API Gateway request id (Mangum keeps the event in the ASGI scope)."""
    event = request.scope.get("aws.event") or {}
    context = event.get("requestContext") or {}
    return context.get("requestId") or request.headers.get("x-request-id")


def envelope(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    details: Any = None,
) -> JSONResponse:
    from fastapi.responses import JSONResponse

    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id_of(request)}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


def _describe_validation(errors: Any) -> list[str]:
    messages = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        messages.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return messages


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app can raise leaves as the envelope; never a stack trace."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return envelope(request, exc.status, exc.code, exc.message, headers=exc.headers, details=exc.details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers) if exc.headers else None
        return envelope(request, exc.status_code, code, message, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _describe_validation(exc.errors())
        return envelope(
            request, 422, "validation_error", "; ".join(problems) or "invalid request", details=problems
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return envelope(request, 500, "internal_error", "An unexpected error occurred.")
