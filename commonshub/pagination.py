"""Pagination by absolute `Link: <url>; rel="next"` headers (spec §1.5).

The client has no base URL when it follows the link, so the link is absolute: the configured
public URL, or the request's own origin. Cursors are opaque to clients.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request

from commonshub.errors import BadRequest


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except ValueError as exc:
        raise BadRequest("Invalid cursor") from exc


def next_link(request: Request, base_url: str, cursor: Any) -> dict[str, str]:
    """The `Link` header pointing at the page after this one."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    params = [(k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k != "cursor"]
    params.append(("cursor", encode_cursor(cursor)))
    url = f"{base_url}{raw_path.decode('latin-1')}?{urlencode(params)}"
    return {"Link": f'<{url}>; rel="next"'}
