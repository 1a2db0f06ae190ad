"""Settings: one frozen object, read once from the environment and explicit overrides.

Every setting is documented in docs/configuration.md; a test checks that the two agree.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "COMMONSHUB_"

MiB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    # Where the SQLite database, the git repositories and the blobs live.
    data_dir: Path = Path("hub-data")
    # SQLAlchemy URL; empty means SQLite in data_dir/hub.db.
    database_url: str = ""
    # The URL users reach the hub at, for absolute links (pagination, commit URLs) behind a proxy.
    # Empty means: derive it from each request.
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # HMAC key for the self-authorising LFS upload URLs; empty means data_dir/secret.key (made once).
    secret_key: str = ""
    # LFS objects at least this large are uploaded in parts (the multipart transfer).
    lfs_multipart_threshold: int = 512 * MiB
    lfs_multipart_chunk_size: int = 64 * MiB
    # How long a signed upload URL stays valid, in seconds.
    lfs_upload_url_ttl: int = 24 * 3600
    # Files at least this large are LFS whatever .gitattributes says (HF's rule).
    lfs_size_threshold: int = 10 * MiB
    # Lifetime of the Xet CAS tokens the hub hands out, in seconds (clients refresh them).
    xet_token_ttl: int = 3600
    # Lifetime of the signed xorb URLs of a reconstruction answer, in seconds.
    xet_url_ttl: int = 3600
    # Largest README.md whose YAML front matter is parsed into cardData.
    max_card_bytes: int = 1 * MiB
    # Repos per page of /api/models|datasets|spaces; more follow through `Link: rel="next"`.
    list_page_size: int = 1000
    # Download counts are kept in memory and written this often (seconds).
    download_flush_interval: float = 5.0
    # Requests per window allowed to one token, and to one address without a token; 0: no limit.
    rate_limit_token: int = 0
    rate_limit_anonymous: int = 0
    rate_limit_window: int = 300
    # The header a reverse proxy sets to the client's address (e.g. X-Real-IP), for rate limits;
    # empty: the address of the connection. Only set it behind a proxy that overwrites it.
    client_ip_header: str = ""
    # Who may create an account through POST /api/signup: "open" (anyone), "invite" (with an
    # invitation from an administrator) or "closed" (administrators create users with the CLI).
    signup: str = "invite"
    # Days an invitation (to the hub or to an organization) stays valid.
    invitation_ttl_days: int = 14
    # Number of server worker processes for `commonshub serve`.
    workers: int = 1
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from COMMONSHUB_* variables, then explicit overrides (CLI flags) on top."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        defaults = cls()
        for name in cls.__dataclass_fields__:
            if name == "extra":
                continue
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is None or raw == "":
                continue
            # The default's type says how to read the text (Path, int, float or str).
            kind = type(getattr(defaults, name))
            try:
                values[name] = kind(raw)
            except ValueError as exc:
                # Name the variable: int()'s own message does not say which one is wrong.
                variable = ENV_PREFIX + name.upper()
                raise ValueError(f"{variable}={raw!r} is not a valid {kind.__name__}") from exc
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        if values.get("public_url"):
            values["public_url"] = str(values["public_url"]).rstrip("/")
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **overrides)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hub.db').resolve()}"

    def resolved_secret_key(self) -> bytes:
        """The signing key: the setting, or a random key kept in data_dir/secret.key."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text().strip().encode()


def documented_settings() -> list[str]:
    """The environment variables a user may set, as documented."""
    return [ENV_PREFIX + n.upper() for n in Settings.__dataclass_fields__ if n != "extra"]
