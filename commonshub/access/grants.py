"""The access check of gated content: has this user's access request to this repo been accepted?

It runs on the hot paths (`/resolve`, Xet read tokens and every CAS read), so it is one query on
the unique (repo_id, user_id) index, built once. It imports only models, so that repos.service and
xet.service can ask it without importing the access package's routes and rules.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from commonshub.models import AccessRequest

_ACCEPTED = select(AccessRequest.id).where(
    AccessRequest.repo_id == bindparam("repo"),
    AccessRequest.user_id == bindparam("user"),
    AccessRequest.status == "accepted",
)


def has_access(session: Session, repo_id: int, user_id: int) -> bool:
    """Whether user `user_id` holds an accepted access request to repo `repo_id`."""
    return session.scalar(_ACCEPTED, {"repo": repo_id, "user": user_id}) is not None
