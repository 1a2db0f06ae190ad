"""JSON responses and the Hub's wire formats (dates with a literal Z, spec §1.4)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import orjson
from starlette.responses import Response
from starlette.types import Send

from commonshub.errors import HubError, header_safe


def format_date(value: datetime) -> str:
    """`2026-11-24T22:10:19.123Z`: the client's parser requires the Z, not +00:00."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def json_response(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    head: bool = False,
) -> Response:
    """The one error shape (specs/hf-protocol.md §1.6); X-Request-Id is added by middleware."""
    out_headers = {"X-Error-Message": header_safe(message), **(headers or {})}
    if code:
        out_headers["X-Error-Code"] = code
    if head:
        return Response(status_code=status, headers=out_headers)
    return json_response({"error": message, **(extra or {})}, status_code=status, headers=out_headers)


def hub_error_response(exc: HubError, *, head: bool = False) -> Response:
    return error_response(
        exc.status_code, exc.message, code=exc.code, headers=exc.headers, extra=exc.extra, head=head
    )


INTERNAL_ERROR = "Internal Error - the hub's operators can find it in the logs by its request id"


def internal_error_response(*, head: bool = False) -> Response:
    """What a bug looks like to a client: a 500 in the usual shape, details only in the log."""
    return error_response(500, INTERNAL_ERROR, code="InternalError", head=head)


# Measured (bench/): 4 MiB pieces beat 1 MiB, 8 MiB and 16 MiB, and Granian's own pathsend.
_CHUNK = 4 * 1024 * 1024


async def send_file_range(path: Path, start: int, stop: int, send: Send, *, last: bool = True) -> None:
    """Bytes [start, stop) of a file as response body messages, read in large pieces off the
    event loop; `last` ends the body after them.

    (Reading the next piece while sending this one was measured: no faster, so not done.)
    """
    remaining = stop - start
    with path.open("rb") as f:
        f.seek(start)
        while remaining > 0:
            chunk = await anyio.to_thread.run_sync(f.read, min(_CHUNK, remaining))
            if not chunk:
                break  # the file is shorter than its record says; the client's size check reports it
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0 or not last})
    if last and (remaining > 0 or stop == start):
        await send({"type": "http.response.body", "body": b"", "more_body": False})
