"""What routes depend on: who is asking, and the request's transaction (a service Context).

Authentication reads in its own short transaction, before the request's own begins: a write
request's transaction takes the database's write lock when it begins (db.py), and must not hold
it while a large body is still arriving.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Request
from pydantic import AfterValidator

from commonshub.accounts.permissions import ANONYMOUS, Identity
from commonshub.accounts.service import authenticate
from commonshub.hub import Context, Hub

# Path segments arrive still percent-encoded (routing runs on the raw path, see app.py), so each
# is decoded once, here: a revision `refs%2Fpr%2F1` becomes `refs/pr/1`.
Segment = Annotated[str, AfterValidator(unquote)]

READ_METHODS = frozenset({"GET", "HEAD"})


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def get_identity(request: Request) -> Identity:
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS
    with get_hub(request).db.session() as session:
        return authenticate(session, header)


def base_url(request: Request) -> str:
    configured = get_hub(request).settings.public_url
    return configured or str(request.base_url).rstrip("/")


def get_context(request: Request, identity: Annotated[Identity, Depends(get_identity)]) -> Iterator[Context]:
    hub = get_hub(request)
    with hub.db.unit_of_work(write=request.method not in READ_METHODS) as uow:
        yield Context(hub=hub, uow=uow, identity=identity, base_url=base_url(request))


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
