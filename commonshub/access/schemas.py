"""Request bodies and the item shape of the access-request API (specs/hf-protocol.md §8).

Bodies are parsed after the repo is looked up (see endpoints.py), so this module parses them
itself: a missing, non-JSON or ill-typed body is a 400 naming what is wrong.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import orjson
from pydantic import Field, ValidationError

from commonshub.accounts.schemas import DEFAULT_AVATAR as AVATAR
from commonshub.bodies import StoredBody as _Body
from commonshub.errors import BadRequest
from commonshub.models import AccessRequest
from commonshub.responses import format_date

Status = Literal["pending", "accepted", "rejected"]
# The client documents this limit on rejection reasons (HfApi.reject_access_request).
MAX_REASON_CHARS = 200


class RequestBody(_Body):
    # The answers to the card's access form, by field label (access.forms).
    fields: dict[str, Any] | None = None


class HandleBody(_Body):
    user: str | None = None
    requestId: str | None = None
    status: Status
    rejectionReason: str | None = Field(default=None, max_length=MAX_REASON_CHARS)


class GrantBody(_Body):
    user: str


B = TypeVar("B", bound=_Body)


def parse_body(model: type[B], raw: bytes, *, optional: bool = False) -> B:
    """`raw` as a `model`; an empty body is `{}` when the whole body is `optional`."""
    if not raw.strip() and optional:
        return model()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error.get("loc", ()))
            problems.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
        raise BadRequest("Invalid request: " + "; ".join(problems)) from None


def request_json(
    request: AccessRequest,
    name: str,
    fullname: str,
    email: str | None,
    *,
    with_reason: bool = False,
) -> dict[str, Any]:
    """One access request as `HfApi.list_*_access_requests` reads it (AccessRequest).

    `email` is left out when a manager granted access: the user shared nothing by asking.
    """
    user: dict[str, Any] = {"user": name, "fullname": fullname, "avatarUrl": AVATAR}
    if email is not None and not request.granted:
        user["email"] = email
    item: dict[str, Any] = {
        "user": user,
        "requestId": request.uid,
        "status": request.status,
        "timestamp": format_date(request.created_at),
    }
    if request.fields:
        item["fields"] = request.fields
    if with_reason and request.rejection_reason is not None:
        item["rejectionReason"] = request.rejection_reason
    return item
