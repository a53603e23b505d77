"""One error envelope for HTTP and websockets: {"error": "Code", "detail": "...", ...}.

Codes are stable and machine-readable; `detail` is for people. Anything a user can cause is a
4xx with a code from here, never a 500.
"""
from __future__ import annotations

import logging
import socket
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
ServiceUnavailable = error_type("ServiceUnavailable", 503)
RETRY_AFTER_S = 5


def unavailable(exc: BaseException) -> str | None:
    """Which dependency an exception says is unreachable ("database" / "redis"), if any: a
    refused or dropped connection, a timeout, a pool that cannot hand out a connection. A
    query's own error (a constraint, a syntax error) is not that, and stays a 500."""
    import asyncpg
    import redis.exceptions
    from sqlalchemy import exc as sa

    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
            return "redis"
        if isinstance(e, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, sa.TimeoutError)):
            return "database"
        if isinstance(e, sa.DBAPIError) and e.connection_invalidated:
            return "database"
        if isinstance(e, sa.OperationalError) and "database is locked" in str(e):
            return "database"
        if isinstance(e, (ConnectionError, TimeoutError, socket.gaierror)):
            return "database"  # a Redis client wraps its own in redis.exceptions (above)
        todo += [e.__cause__, e.__context__, getattr(e, "orig", None)]
    return None


class DependencyDown:
    """A dependency that is down answers 503 with the error envelope and `Retry-After`, never
    a 500. The request's transaction was rolled back (app.kit.db), so nothing is half-stored."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            which = unavailable(exc)
            if which is None or started:
                raise
            logging.getLogger(__name__).warning("%s unreachable: %s", which, exc)
            body = ServiceUnavailable(f"the {which} is unreachable; try again shortly", dependency=which).envelope()
            await JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})(scope, receive, send)


_STATUS_CODES = {
    400: "BadRequest", 401: "NotAuthenticated", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 409: "Conflict", 413: "PayloadTooLarge", 415: "UnsupportedMediaType",
    422: "InvalidInput", 429: "TooManyRequests",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.status_code == 503 else None
        return JSONResponse(exc.envelope(), status_code=exc.status_code, headers=headers)

    app.add_middleware(DependencyDown)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = problems[0] if problems else {"loc": [], "msg": "invalid input"}
        detail = f"{'.'.join(first['loc'][1:] or first['loc'])}: {first['msg']}"
        return JSONResponse(
            {"error": "InvalidInput", "detail": detail, "problems": problems}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "HttpError")
        return JSONResponse(
            {"error": code, "detail": str(exc.detail)}, status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
