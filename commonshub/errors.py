"""Typed errors. Services raise them; one handler in app.py renders the HF error shape.

The shape is the contract of specs/hf-protocol.md §1.6: the status, an `X-Error-Code` header when
the client needs one to pick its exception, the message in `X-Error-Message` and in the JSON body
as `{"error": message}`. `X-Request-Id` is added to every response by the request-id middleware.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar


class HubError(Exception):
    """An error the client is meant to see. Never a bug: bugs are plain exceptions (a 500)."""

    status: ClassVar[int] = 400
    code: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status or self.status
        self.headers = headers or {}
        # Extra keys for the JSON body, such as the `url` a 409 on repo creation must carry.
        self.extra = extra or {}


class BadRequest(HubError):
    status = 400
    code = "BadRequest"


class InvalidCredentials(HubError):
    # No X-Error-Code on purpose: the client keys on the exact message (§1.2).
    status = 401

    def __init__(self) -> None:
        super().__init__("Invalid credentials in Authorization header")


class Unauthorized(HubError):
    status = 401


class Forbidden(HubError):
    status = 403


class NotFound(HubError):
    status = 404
    code = "NotFound"


class RepoNotFound(HubError):
    """Missing, or private and not readable by the caller: the two must look the same."""

    status = 404
    code = "RepoNotFound"

    def __init__(self, *, anonymous: bool = False) -> None:
        super().__init__("Repository not found", status=401 if anonymous else 404)


class RevisionNotFound(HubError):
    status = 404
    code = "RevisionNotFound"

    def __init__(self, revision: str) -> None:
        super().__init__(f"Invalid rev id: {revision}")


class EntryNotFound(HubError):
    status = 404
    code = "EntryNotFound"

    def __init__(self, message: str = "Entry not found", *, commit: str | None = None) -> None:
        # transformers records "this optional file does not exist at <commit>" from this header.
        super().__init__(message, headers={"X-Repo-Commit": commit} if commit else None)


class GatedRepo(HubError):
    status = 403
    code = "GatedRepo"


class MethodNotAllowed(HubError):
    status = 405
    code = "MethodNotAllowed"


class Conflict(HubError):
    status = 409


class PreconditionFailed(HubError):
    status = 412

    def __init__(self) -> None:
        super().__init__("The branch was updated since you opened this page. Please refresh and try again.")


class PayloadTooLarge(HubError):
    status = 413


class RangeNotSatisfiable(HubError):
    status = 416

    def __init__(self, size: int) -> None:
        super().__init__("Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})


class BlobUnavailable(HubError):
    """A file's bytes are recorded but missing from storage (fsck reports it)."""

    status = 503
    code = "BlobUnavailable"

    def __init__(self) -> None:
        super().__init__(
            "This file's content is missing from storage; an operator can find it with `commonshub fsck`"
        )


class RepoUnavailable(HubError):
    """A repo is recorded but its git directory is missing (fsck repairs it)."""

    status = 503
    code = "RepoUnavailable"

    def __init__(self) -> None:
        super().__init__(
            "This repository's storage is missing; an operator can repair it with `commonshub fsck --repair`"
        )


class Unprocessable(HubError):
    status = 422
    code = "InvalidInput"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def header_safe(text: str) -> str:
    """A message as an HTTP header value: one line of latin-1, at most 1 KiB.

    Messages may name user paths in any script; headers can only carry latin-1, so other
    characters become backslash escapes rather than a 500 from the server. Control characters
    (a revision `%01` in a URL) make the server drop the connection, so they are escaped too;
    the cut comes last, so that escapes cannot push the header past 1 KiB (proxies' limit).
    """
    flat = " ".join(text.split()).encode("latin-1", "backslashreplace").decode("latin-1")
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", flat)[:1024].rstrip()
