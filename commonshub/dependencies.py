"""What routes depend on: who is asking, and the request's transaction (a service Context).

Authentication reads in its own short transaction, before the request's own begins: a write
request's transaction takes the database's write lock when it begins (db.py), and must not hold
it while a large body is still arriving.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Request
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from commonshub.accounts.permissions import ANONYMOUS, Identity
from commonshub.accounts.service import authenticate, expired
from commonshub.errors import InvalidCredentials
from commonshub.hub import Context, Hub

# Path segments arrive still percent-encoded (routing runs on the raw path, see app.py), so each
# is decoded once, here: a revision `refs%2Fpr%2F1` becomes `refs/pr/1`.
Segment = Annotated[str, AfterValidator(unquote)]

READ_METHODS = frozenset({"GET", "HEAD"})


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def identify(hub: Hub, authorization: str | None) -> Identity:
    """Who sends this Authorization header (in a short read transaction of its own).

    On SQLite the answer is remembered until the next commit anywhere (data_version): revoking a
    token, changing a membership or deleting a user all commit, so none is ever served stale.
    """
    if not authorization:
        return ANONYMOUS
    version = hub.db.data_version()
    cached = hub.identities.get(authorization) if version is not None else None
    if cached is not None and cached[0] == version:
        identity = cached[1]
        if expired(identity):  # expiry is the one change no commit announces
            raise InvalidCredentials()
    else:
        with hub.db.session() as session:
            identity = authenticate(session, authorization)
        if version is not None:
            if len(hub.identities) >= 10_000:
                hub.identities.clear()
            hub.identities[authorization] = (version, identity)
    hub.token_use.note(identity.token_id)
    return identity


async def get_identity(request: Request) -> Identity:
    # On the event loop: usually a cache hit, else one indexed read (a thread hop costs more).
    return identify(get_hub(request), request.headers.get("authorization"))


def client_address(hub: Hub, request: Request) -> str | None:
    header = hub.settings.client_ip_header
    if header:
        forwarded = request.headers.get(header)
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else None


def public_base_url(hub: Hub, request: Request) -> str:
    return hub.settings.public_url or str(request.base_url).rstrip("/")


def base_url(request: Request) -> str:
    return public_base_url(get_hub(request), request)


async def get_context(
    request: Request, identity: Annotated[Identity, Depends(get_identity)]
) -> AsyncIterator[Context]:
    """The request's transaction, opened lazily by its first query.

    Ending a read transaction is cheap enough for the event loop; a write's commit moves refs
    and may wait for the database's write lock, so it runs in a worker thread.
    """
    hub = get_hub(request)
    write = request.method not in READ_METHODS
    uow = hub.db.start(write=write)
    try:
        yield Context(
            hub=hub,
            uow=uow,
            identity=identity,
            base_url=base_url(request),
            ip=client_address(hub, request) if write else None,
        )
    except BaseException:
        uow.rollback()
        raise
    else:
        if write:
            await run_in_threadpool(uow.commit)
        else:
            uow.commit()
    finally:
        uow.close()


# scope="function": the transaction commits when the route returns, before the response is sent,
# so a client never sees success for a write that then fails to commit.
ContextDep = Annotated[Context, Depends(get_context, scope="function")]
IdentityDep = Annotated[Identity, Depends(get_identity)]


def query_list(request: Request, name: str) -> list[str]:
    """A repeated query parameter, in both the `k=a&k=b` and the `k[]=a` forms."""
    values = request.query_params.getlist(name) + request.query_params.getlist(f"{name}[]")
    return [v for value in values for v in value.split(",") if v]


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return default
    return value.lower() in ("1", "true", "yes")
