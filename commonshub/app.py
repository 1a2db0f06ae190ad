"""The application factory: routers in one explicit order, two small ASGI middlewares, one error shape."""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commonshub.errors import HubError, header_safe
from commonshub.hub import Hub
from commonshub.repos.service import RepoMoved
from commonshub.responses import json_response
from commonshub.settings import Settings

log = logging.getLogger("commonshub")


class RepoTypeConvertor(Convertor[str]):
    regex = "models|datasets|spaces"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("repotype", RepoTypeConvertor())


def create_app(settings: Settings, *, hub: Hub | None = None) -> ASGIApp:
    hub = hub or Hub(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.downloads.start()
        try:
            yield
        finally:
            hub.close()

    app = FastAPI(
        title="Commons Hub",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.hub = hub

    app.add_exception_handler(HubError, _hub_error)
    app.add_exception_handler(RepoMoved, _repo_moved)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    from commonshub.accounts import endpoints as accounts
    from commonshub.repos import endpoints as repos
    from commonshub.uploads import endpoints as uploads

    # Order matters only where paths overlap; literal paths come first within each router.
    app.include_router(accounts.router)
    app.include_router(uploads.router)
    app.include_router(repos.router)

    return RequestIdMiddleware(RawPathMiddleware(app))


def create_app_from_env() -> ASGIApp:
    """The app for `uvicorn --factory` workers: settings from the COMMONSHUB_* environment."""
    return create_app(Settings.from_env())


# --- errors: one shape for all (specs/hf-protocol.md §1.6) ---


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    head: bool = False,
) -> Response:
    out_headers = {"X-Error-Message": header_safe(message), **(headers or {})}
    if code:
        out_headers["X-Error-Code"] = code
    if head:
        return Response(status_code=status, headers=out_headers)
    return json_response({"error": message, **(extra or {})}, status_code=status, headers=out_headers)


async def _hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    return error_response(
        exc.status_code,
        exc.message,
        code=exc.code,
        headers=exc.headers,
        extra=exc.extra,
        head=request.method == "HEAD",
    )


async def _repo_moved(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RepoMoved)
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    old = re.escape(quote(exc.old_id))
    new_path = re.sub(f"(?i)/{old}(?=/|$|\\.git)", "/" + exc.new_id, raw, count=1)
    location = new_path + (f"?{request.url.query}" if request.url.query else "")
    return Response(status_code=307, headers={"Location": location})


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return error_response(
        400, "Invalid request: " + "; ".join(problems), code="BadRequest", head=request.method == "HEAD"
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "NotFound", 405: "MethodNotAllowed"}
    message = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, str(exc.detail))
    return error_response(
        exc.status_code, message, code=codes.get(exc.status_code, "HTTPError"), head=request.method == "HEAD"
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500,
        "Internal Error - the hub's operators can find it in the logs by its request id",
        code="InternalError",
        head=request.method == "HEAD",
    )


# --- middleware (plain ASGI: they run on every request, including file downloads) ---


# Revisions the client sends raw instead of percent-encoded (spec §1.3): refs/pr/N, refs/convert/x,
# in the revision position of the routes that take one.
_RAW_REF = re.compile(
    r"(/(?:resolve|tree|revision|commits|paths-info|preupload|commit|super-squash|branch|tag)/)"
    r"refs/(pr/\d+|convert/[^/]+)(?=/|$)"
)


class RawPathMiddleware:
    """Route on the path as sent, still percent-encoded.

    Starlette routes on the decoded path, where a revision `refs%2Fpr%2F1` would look like three
    path segments. Routing on the raw path keeps each segment whole; route parameters are decoded
    once, by dependencies.Segment.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("raw_path"):
            raw = scope["raw_path"].decode("utf-8", "replace")
            scope = dict(scope)
            scope["path"] = _RAW_REF.sub(lambda m: m[1] + quote("refs/" + m[2], safe=""), raw)
        await self.app(scope, receive, send)


_SAFE_ID = re.compile(r"[A-Za-z0-9=;._:-]{1,128}")


class RequestIdMiddleware:
    """Every response carries X-Request-Id: the client's trace id if it sent one, else a new id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-amzn-trace-id":
                candidate = value.decode("latin-1")
                if _SAFE_ID.fullmatch(candidate):
                    request_id = candidate
                break
        request_id = request_id or uuid.uuid4().hex
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
