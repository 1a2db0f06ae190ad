"""JSON responses and the Hub's wire formats (dates with a literal Z, spec §1.4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response


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
