"""The base of every JSON request body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class Body(BaseModel):
    # Clients send more than we read (Space hardware, secrets…); unknown keys are ignored.
    model_config = ConfigDict(extra="ignore")

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        # JSON may escape a lone surrogate ("\ud800"): no text git or a database can store. The
        # UnicodeEncodeError is a ValueError, so the request is a 400 naming the field.
        if isinstance(value, str):
            value.encode("utf-8")
        return value


class StoredBody(Body):
    """A body whose text is stored or looked up as is: NUL is refused too (PostgreSQL stores no NUL).
    Bodies that answer bad text in their own shape (validate-yaml) use `Body`."""

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value
