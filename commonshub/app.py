"""The application factory: routers in one explicit order, two small ASGI middlewares, one error shape."""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commonshub.errors import HubError
from commonshub.hub import Hub
from commonshub.ratelimit import RateLimiter
from commonshub.repos.resolve import Resolver
from commonshub.repos.service import RepoMoved
from commonshub.responses import error_response, hub_error_response, internal_error_response
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

    from commonshub.access import endpoints as access
    from commonshub.accounts import endpoints as accounts
    from commonshub.collections import endpoints as collections
    from commonshub.community import endpoints as community
    from commonshub.events import endpoints as events
    from commonshub.repos import endpoints as repos
    from commonshub.uploads import endpoints as uploads
    from commonshub.xet import endpoints as xet

    # Order matters only where paths overlap; literal paths come first within each router.
    app.include_router(accounts.router)
    app.include_router(events.router)
    app.include_router(access.router)
    app.include_router(uploads.router)
    app.include_router(xet.router)
    app.include_router(community.router)
    app.include_router(collections.router)  # before repos: /api/{type}/{ns}/{name}/like…
    app.include_router(repos.router)

    limiter = RateLimiter(
        per_token=settings.rate_limit_token,
        per_address=settings.rate_limit_anonymous,
        window=settings.rate_limit_window,
    )
    return FrontDoor(app, Resolver(hub), limiter, client_ip_header=settings.client_ip_header)


def create_app_from_env() -> ASGIApp:
    """The app each server worker builds (`commonshub serve`): settings from the COMMONSHUB_* environment."""
    return create_app(Settings.from_env())


# --- errors: one shape for all (specs/hf-protocol.md §1.6) ---


async def _hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    return hub_error_response(exc, head=request.method == "HEAD")


async def _repo_moved(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RepoMoved)
    location = exc.location(request.scope["raw_path"].decode("latin-1"), request.url.query)
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
        exc.status_code,
        message,
        code=codes.get(exc.status_code, "HTTPError"),
        headers=dict(exc.headers or {}),  # a 405 names the methods the route allows (Allow)
        head=request.method == "HEAD",
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return internal_error_response(head=request.method == "HEAD")


# --- middleware (plain ASGI: they run on every request, including file downloads) ---


# Revisions the client sends raw instead of percent-encoded (spec §1.3): refs/pr/N, refs/convert/x,
# in the revision position of the routes that take one.
_RAW_REF = re.compile(
    r"(/(?:resolve|tree|revision|commits|paths-info|preupload|commit|super-squash|branch|tag)/)"
    r"refs/(pr/\d+|convert/[^/]+)(?=/|$)"
)


_SAFE_ID = re.compile(r"[A-Za-z0-9=;._:-]{1,128}")
_ANSWERED_HERE = frozenset({"GET", "HEAD"})


class FrontDoor:
    """What every HTTP request passes first. Plain ASGI, because every file download runs through it.

    - X-Request-Id on every response: the client's trace id if it sent one, else a random
      per-process prefix and a counter (unique, and free: a uuid4 costs a system call).
    - Routing on the path as sent, still percent-encoded. Starlette routes on the decoded path,
      where a revision `refs%2Fpr%2F1` would look like three segments; on the raw path each
      segment stays whole, and route parameters are decoded once, by dependencies.Segment.
    - `/resolve`, the hot path, answered here (repos.resolve.Resolver), without the framework.
    - Rate limits (commonshub.ratelimit), when configured: before anything else is done.
    """

    def __init__(
        self, app: ASGIApp, resolver: Resolver, limiter: RateLimiter, *, client_ip_header: str = ""
    ) -> None:
        self.app = app
        self.resolver = resolver
        self.limiter = limiter if limiter.enabled else None
        self.client_ip_header = client_ip_header.lower().encode("latin-1")
        self._prefix = secrets.token_hex(8).encode()
        self._counter = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.limiter is not None and await self._refused(scope, receive, send):
            return
        raw = scope.get("raw_path")
        if raw:
            path = raw.decode("utf-8", "replace")
            scope["path"] = _RAW_REF.sub(_encode_ref, path) if "/refs/" in path else path
        if scope["method"] in _ANSWERED_HERE:
            match = self.resolver.match(scope["path"])
            if match is not None:
                await self.resolver.handle(scope, receive, send, match, self.request_id)
                return
        await self.app(scope, receive, self._sending_request_id(scope, send))

    async def _refused(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Count the request against its token, or its address; answer 429 if it is over."""
        assert self.limiter is not None
        token = None
        address = (scope.get("client") or ("", 0))[0]
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = value.decode("latin-1")
            elif name == self.client_ip_header:
                address = value.decode("latin-1").split(",")[0].strip()
        refusal = self.limiter.hit(token=token, address=address, now=time.time())
        if refusal is None:
            return False
        who = "this token" if token is not None else "this address"
        message = (
            f"Too many requests from {who}: at most {refusal.limit} every {refusal.window} s. "
            f"Retry in {refusal.retry_after} s."
        )
        response = error_response(
            429, message, code="RateLimited", headers=refusal.headers, head=scope["method"] == "HEAD"
        )
        await response(scope, receive, self._sending_request_id(scope, send))
        return True

    def _sending_request_id(self, scope: Scope, send: Send) -> Send:
        """`send`, adding X-Request-Id to the response's headers."""
        trace = next((value for name, value in scope["headers"] if name == b"x-amzn-trace-id"), None)
        request_id = self.request_id(trace)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), request_id]
            await send(message)

        return send_with_id

    def request_id(self, trace: bytes | None) -> tuple[bytes, bytes]:
        """The X-Request-Id header for a request that sent `trace` as its X-Amzn-Trace-Id."""
        if trace is not None and _SAFE_ID.fullmatch(trace.decode("latin-1")):
            return (b"x-request-id", trace)
        return (b"x-request-id", b"%s%08x" % (self._prefix, next(self._counter)))


def _encode_ref(match: re.Match[str]) -> str:
    return match[1] + quote("refs/" + match[2], safe="")
