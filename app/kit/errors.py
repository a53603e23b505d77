"""One error envelope for HTTP and websockets: {"error": "Code", "detail": "...", ...}.

Codes are stable and machine-readable; `detail` is for people. Anything a user can cause is a
4xx with a code from here, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException


class AppError(Exception):
    status_code = 400
    code = "BadRequest"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def envelope(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


def error_type(name: str, status: int) -> type[AppError]:
    """A new stable error code (domains declare theirs next to the rules that raise them)."""
    return type(name, (AppError,), {"status_code": status, "code": name})


InvalidInput = error_type("InvalidInput", 422)
InvalidCredentials = error_type("InvalidCredentials", 401)
NotAuthenticated = error_type("NotAuthenticated", 401)
TokenExpired = error_type("TokenExpired", 401)
TokenRevoked = error_type("TokenRevoked", 401)
Forbidden = error_type("Forbidden", 403)
AccountSuspended = error_type("AccountSuspended", 403)
NotFound = error_type("NotFound", 404)
Conflict = error_type("Conflict", 409)
InvalidState = error_type("InvalidState", 409)
ImageRejected = error_type("ImageRejected", 422)
ImageTooLarge = error_type("ImageTooLarge", 413)
RosterRejected = error_type("RosterRejected", 422)
TooManyRequests = error_type("TooManyRequests", 429)


_STATUS_CODES = {
    400: "BadRequest",
    401: "NotAuthenticated",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "InvalidInput",
    429: "TooManyRequests",
}


def _is_bad_input(exc: DBAPIError) -> bool:
    """Errors the database raises for a value nobody could store: a NUL character in text
    (PostgreSQL), a number beyond 64 bits, text that is not valid in the database encoding."""
    text = f"{type(exc.orig).__name__} {exc.orig}".lower()
    return isinstance(exc, DataError) or any(
        k in text
        for k in (
            "0x00",
            "out of int64 range",
            "out of range",
            "untranslatablecharacter",
            "characternotinrepertoire",
            "too large to convert",
            "invalid byte sequence",
        )
    )


def _bad_input_detail(exc: DBAPIError) -> str:
    text = str(exc.orig).lower()
    if "0x00" in text or "untranslatable" in text:
        return "text must not contain NUL (\\u0000) characters"
    if "range" in text or "too large" in text:
        return "a number is out of range (64-bit integers)"
    return "a value could not be stored as given"


def _unavailable(detail: str, exc: BaseException) -> JSONResponse:
    # Logged with its cause: a 503 under load (a pool that ran dry, a timeout) is otherwise
    # indistinguishable from an outage.
    logging.getLogger(__name__).warning("503 %s: %s: %s", detail, type(exc).__name__, exc)
    return JSONResponse(
        {"error": "ServiceUnavailable", "detail": f"{detail}; try again shortly", "retry_after": 5}, status_code=503, headers={"Retry-After": "5"}
    )


def _server_error() -> JSONResponse:
    return JSONResponse({"error": "ServerError", "detail": "something went wrong on our side; it has been logged"}, status_code=500)


ENVELOPE_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error", "detail"],
    "additionalProperties": True,
    "properties": {
        "error": {"type": "string", "description": "stable machine-readable code"},
        "detail": {"type": "string", "description": "for people"},
        "problems": {"type": "array", "items": {"type": "object"}},
    },
}


def _document(app: FastAPI) -> None:
    """The OpenAPI document describes the envelope that 422s really carry (FastAPI's default
    schema says `detail` is a list; Schemathesis holds every answer to the document)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schemas = schema.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = ENVELOPE_SCHEMA
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema


def install(app: FastAPI) -> None:
    _document(app)

    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        retry = exc.extra.get("retry_after")
        return JSONResponse(exc.envelope(), status_code=exc.status_code, headers={"Retry-After": str(retry)} if retry is not None else None)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        first = problems[0] if problems else {"loc": [], "msg": "invalid input"}
        detail = f"{'.'.join(first['loc'][1:] or first['loc'])}: {first['msg']}"
        return JSONResponse({"error": "InvalidInput", "detail": detail, "problems": problems}, status_code=422)

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        # SQLite: "Python int too large to convert to SQLite INTEGER" — a number beyond 64 bits.
        return JSONResponse({"error": "InvalidInput", "detail": "a number is out of range (64-bit integers)"}, status_code=422)

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        if _is_bad_input(exc):
            return JSONResponse({"error": "InvalidInput", "detail": _bad_input_detail(exc)}, status_code=422)
        if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
            return _unavailable("the database is not answering", exc)
        return _server_error()

    @app.exception_handler(RedisError)
    async def _redis(_: Request, exc: RedisError) -> JSONResponse:
        return _unavailable("the shared state (Redis) is not answering", exc)

    @app.exception_handler(ConnectionError)
    async def _connection(_: Request, exc: ConnectionError) -> JSONResponse:
        return _unavailable("a service this request needs is not answering", exc)

    @app.exception_handler(TimeoutError)
    async def _timeout(_: Request, exc: TimeoutError) -> JSONResponse:
        # A connect timeout (asyncpg's `timeout`, a Redis socket timeout not wrapped by redis-py).
        return _unavailable("a service this request needs is not answering", exc)

    @app.exception_handler(Exception)
    async def _anything(_: Request, exc: Exception) -> JSONResponse:
        # Last resort: the one envelope even for a bug (Starlette logs the exception).
        return _server_error()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "HttpError")
        return JSONResponse(
            {"error": code, "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
