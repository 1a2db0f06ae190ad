"""Repositories: lookup and permissions, lifecycle, refs, and the database index of each head.

Every write to a repo's refs goes through `lock_repo` (the repo lock, held until the request's
transaction ends) and `move_ref` (a reflog row plus a journaled ref move published on commit).
When `main` moves, `index_head` refreshes the rows that listing, search and `model_info` read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlalchemy.orm import Session, joinedload

from commonshub.access.grants import has_access
from commonshub.accounts.permissions import Action, Namespace, allowed
from commonshub.accounts.service import account_by_name
from commonshub.errors import (
    BadRequest,
    Conflict,
    EntryNotFound,
    Forbidden,
    GatedRepo,
    HubError,
    NotFound,
    RepoNotFound,
    RepoUnavailable,
    RevisionNotFound,
    Unauthorized,
)
from commonshub.events import service as events
from commonshub.gitstore import (
    CommitInfo,
    GitRepo,
    LfsPointer,
    PutFile,
    StagedCreation,
    TreeEntry,
    default_gitattributes,
    format_pointer,
    is_valid_ref_name,
)
from commonshub.hub import Context
from commonshub.models import Blob, LfsObject, RefUpdate, Repo, RepoFile, RepoRedirect, RepoTag, utcnow
from commonshub.replay import Pin
from commonshub.repos.cards import CardError, derive, parse_card, parse_config
from commonshub.repos.schemas import NEEDS_FILES, RepoView
from commonshub.xet import service as xet

TYPE_BY_PLURAL = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
SPACE_SDKS = ("gradio", "streamlit", "docker", "static")
MAIN = "refs/heads/main"

# The client's own rule for repo names (huggingface_hub validate_repo_id), minus the namespace.
_REPO_NAME = re.compile(r"[\w\-.]{1,96}")


class RepoMoved(Exception):
    """The repo was renamed; the request is redirected (307) to the same URL under `new_id`."""

    def __init__(self, old_id: str, new_id: str) -> None:
        super().__init__(new_id)
        self.old_id = old_id
        self.new_id = new_id

    def location(self, raw_path: str, query: str) -> str:
        """The request's own URL (path and query) with the old repo id replaced by the new one."""
        old = re.escape(quote(self.old_id))
        new_path = re.sub(f"(?i)/{old}(?=/|$|\\.git)", "/" + self.new_id, raw_path, count=1)
        return new_path + (f"?{query}" if query else "")


def repo_url(base_url: str, repo: Repo) -> str:
    return f"{base_url}/{URL_PREFIX[repo.type]}{repo.repo_id}"


def author_email(name: str) -> str:
    return f"{name}@users.noreply.commonshub"


def event(ctx: Context, kind: str, repo: Repo | None = None, /, **data: Any) -> None:
    """Append one audit event for this write, tagged `kind` ("subject:action")."""
    events.record(ctx, kind, repo, **data)


# --- lookup and permissions ---


def validate_repo_name(name: str) -> None:
    if (
        not _REPO_NAME.fullmatch(name)
        or "--" in name
        or ".." in name
        or name.endswith(".git")
        or name[0] in "-."
        or name[-1] in "-."
    ):
        raise BadRequest(
            f"Invalid repo name {name!r}: use letters, digits, '-', '_' and '.', at most 96 characters, "
            "no '--' or '..', not ending in '.git'"
        )


# Built once: every request looks a repo up, and building a statement costs more than running it.
_REPO_BY_KEY = (
    select(Repo)
    .options(joinedload(Repo.namespace))
    .where(Repo.type == bindparam("type"), Repo.key == bindparam("key"))
)
_REPO_BY_OLD_KEY = (
    select(Repo)
    .options(joinedload(Repo.namespace))
    .join(RepoRedirect, RepoRedirect.repo_id == Repo.id)
    .where(RepoRedirect.type == bindparam("type"), RepoRedirect.key == bindparam("key"))
)


def find_repo(ctx: Context, repo_type: str, namespace: str, name: str) -> Repo:
    """The repo the caller may read, or RepoNotFound (or a redirect if it was renamed)."""
    key = f"{namespace}/{name}".lower()
    if "\x00" in key:  # no repo has one, and PostgreSQL refuses NUL in a query parameter
        raise RepoNotFound(anonymous=ctx.identity.anonymous)
    params = {"type": repo_type, "key": key}
    repo = ctx.session.scalar(_REPO_BY_KEY, params)
    if repo is None:
        moved = ctx.session.scalar(_REPO_BY_OLD_KEY, params)
        if moved is not None and allowed(ctx.identity, "repo:read", moved):
            raise RepoMoved(f"{namespace}/{name}", moved.repo_id)
        raise RepoNotFound(anonymous=ctx.identity.anonymous)
    if not allowed(ctx.identity, "repo:read", repo):
        raise RepoNotFound(anonymous=ctx.identity.anonymous)
    return repo


def refusal(ctx: Context, action: str) -> HubError:
    """The error for a refused `action` (a phrase: "write to alice/x") by a caller who may read."""
    identity = ctx.identity
    if identity.anonymous:
        return Unauthorized(f"You must be authenticated to {action}")
    if identity.token_role == "read":
        return Forbidden(f"Your token has read access only; it cannot be used to {action}")
    if identity.token_role == "fineGrained":
        return Forbidden(f"Your fine-grained token does not grant the permission to {action}")
    return Forbidden(f"You don't have the rights to {action}")


_PHRASES: dict[Action, str] = {
    "repo:discuss": "open discussions or comment on",
    "repo:write": "write to",
    "repo:manage": "manage",
}


def require(ctx: Context, action: Action, repo: Repo) -> None:
    """Refuse unless the caller may do `action` on `repo` (which they can read: see find_repo)."""
    if action == "repo:content":
        require_content(ctx, repo)
    elif not allowed(ctx.identity, action, repo):
        raise refusal(ctx, f"{_PHRASES.get(action, action)} {repo.repo_id}")


def require_write(ctx: Context, repo: Repo) -> None:
    require(ctx, "repo:write", repo)


def require_manage(ctx: Context, repo: Repo) -> None:
    require(ctx, "repo:manage", repo)


def access_granted(ctx: Context, repo: Repo) -> bool:
    """Whether the caller's access request to gated `repo` was accepted."""
    user_id = ctx.identity.user_id
    return user_id is not None and has_access(ctx.session, repo.id, user_id)


def require_content(ctx: Context, repo: Repo) -> None:
    """Gated repos: metadata is public, file contents only for those with access (spec §8)."""
    if not repo.gated:
        return
    # Roles first: the owner and the org's members download without the access query.
    if allowed(ctx.identity, "repo:content", repo):
        return
    if not ctx.identity.anonymous and allowed(
        ctx.identity, "repo:content", repo, access_granted=access_granted(ctx, repo)
    ):
        return
    kind = repo.type
    if ctx.identity.anonymous:
        raise GatedRepo(
            f"Access to {kind} {repo.repo_id} is restricted. You must have access to it and be "
            "authenticated to access it. Please log in.",
            status=401,
        )
    raise GatedRepo(
        f"Access to {kind} {repo.repo_id} is restricted and you are not in the authorized list. "
        f"Visit {repo_url(ctx.base_url, repo)} to ask for access."
    )


# --- git access ---


def open_git(ctx: Context, repo: Repo) -> GitRepo:
    if not ctx.hub.git.exists(repo.uid):
        raise RepoUnavailable()
    return ctx.hub.git.open(repo.uid)


_LINK = select(LfsObject.size, LfsObject.xet_hash).where(
    LfsObject.repo_id == bindparam("repo"), LfsObject.oid == bindparam("oid")
)


@dataclass(frozen=True)
class Link:
    """An LFS object a repo holds: its size, and its Xet file if it was uploaded through Xet."""

    size: int
    xet_hash: str | None


def link(ctx: Context, repo: Repo, oid: str) -> Link | None:
    """How `repo` holds LFS object `oid` (uploaded to it, and not deleted from it), if it does."""
    row = ctx.session.execute(_LINK, {"repo": repo.id, "oid": oid}).one_or_none()
    return None if row is None else Link(int(row[0]), row[1])


def linked_size(ctx: Context, repo: Repo, oid: str) -> int | None:
    """The size of LFS object `oid` if `repo` holds it and its bytes are stored; else None."""
    found = link(ctx, repo, oid)
    if found is None:
        return None
    if found.xet_hash is None and ctx.hub.blobs.size(oid) != found.size:
        return None
    return found.size


def xet_hashes(ctx: Context, repo: Repo, oids: Iterable[str]) -> dict[str, str]:
    """The Xet file of each of `oids` the repo holds through Xet (for `xetHash` in listings)."""
    wanted = sorted(set(oids))
    if not wanted:
        return {}
    rows = ctx.session.execute(
        select(LfsObject.oid, LfsObject.xet_hash).where(
            LfsObject.repo_id == repo.id, LfsObject.oid.in_(wanted), LfsObject.xet_hash.is_not(None)
        )
    )
    return {oid: xet for oid, xet in rows if xet is not None}


def resolve_revision(git: GitRepo, revision: str) -> str:
    sha = git.resolve(revision)
    if sha is None:
        raise RevisionNotFound(revision)
    return sha


def lock_repo(ctx: Context, repo: Repo) -> GitRepo:
    """Take the repo's write lock until the transaction ends, and repair what a crash left.

    Writers take the database's write lock first (SQLite: BEGIN IMMEDIATE on the first query of a
    write request; PostgreSQL: an advisory lock here), then this one, always in that order.
    """
    if ctx.hub.db.engine.dialect.name == "postgresql":
        ctx.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": repo.id})
    ctx.uow.hold(ctx.hub.git.lock(repo.uid))
    git = open_git(ctx, repo)
    entries = ctx.hub.git.journal_entries(repo.uid)
    if entries:
        tokens = [move.token for _, move in entries]
        committed = set(ctx.session.scalars(select(RefUpdate.token).where(RefUpdate.token.in_(tokens))))
        git.settle_orphaned_moves(committed)
    head = git.ref_target(MAIN)
    if head != repo.head_sha:
        index_head(ctx, repo, git, head)
    return git


def move_ref(ctx: Context, repo: Repo, git: GitRepo, ref: str, new: str | None, *, old: str | None) -> None:
    """Move `ref` from `old` to `new` when the transaction commits (the caller holds the lock)."""
    move = git.new_move(ref, old, new)
    ctx.session.add(
        RefUpdate(
            repo_id=repo.id,
            ref=ref,
            old_sha=old,
            new_sha=new,
            token=move.token,
            actor_id=ctx.identity.user_id,
        )
    )
    ctx.uow.publish_on_commit(git.stage_ref(move))
    if ref == MAIN:
        index_head(ctx, repo, git, new)


def index_head(ctx: Context, repo: Repo, git: GitRepo, sha: str | None) -> None:
    """Make the database's index of the repo describe commit `sha` of main."""
    session = ctx.session
    files = git.files(sha) if sha else []
    session.execute(delete(RepoFile).where(RepoFile.repo_id == repo.id))
    if files:
        session.execute(
            insert(RepoFile),
            [
                {
                    "repo_id": repo.id,
                    "path": f.path,
                    "size": f.size,
                    "blob_id": f.oid,
                    "lfs_oid": f.lfs.oid if f.lfs else None,
                    "lfs_size": f.lfs.size if f.lfs else None,
                }
                for f in files
            ],
        )
    by_path = {f.path: f for f in files}
    card_data = read_card(ctx, git, by_path.get("README.md"), repo.type)
    config = None
    if repo.type == "model" and (entry := by_path.get("config.json")) and entry.lfs is None:
        config = parse_config(git.read_blob(entry.oid))
    derived = derive(repo.type, card_data or {}, list(by_path), config, sdk=repo.sdk)
    session.execute(delete(RepoTag).where(RepoTag.repo_id == repo.id))
    if derived.tags:
        session.execute(insert(RepoTag), [{"repo_id": repo.id, "tag": t} for t in derived.tags])
    repo.head_sha = sha
    repo.tags = sorted(derived.tags)
    repo.card_data = card_data
    repo.config = config
    repo.library_name = derived.library_name
    repo.pipeline_tag = derived.pipeline_tag
    if sha:
        repo.last_modified = git.commit_info(sha).date
    repo.used_storage = stored_bytes(session, repo) + sum(f.size for f in files if f.lfs is None)


def stored_bytes(session: Session, repo: Repo) -> int:
    """The bytes the repo's LFS objects take: blobs by size, Xet files by their distinct chunks,
    so versions that share most of their content count the shared part once."""
    blob_bytes = session.scalar(
        select(func.coalesce(func.sum(LfsObject.size), 0)).where(
            LfsObject.repo_id == repo.id, LfsObject.xet_hash.is_(None)
        )
    )
    xet_files = session.scalars(
        select(LfsObject.xet_hash).where(LfsObject.repo_id == repo.id, LfsObject.xet_hash.is_not(None))
    )
    return int(blob_bytes or 0) + xet.unique_bytes(session, [h for h in xet_files if h])


def read_card(ctx: Context, git: GitRepo, entry: TreeEntry | None, repo_type: str) -> dict[str, Any] | None:
    """The card metadata of a README.md entry; None if there is none or it cannot be read."""
    if entry is None or entry.type != "file" or entry.lfs is not None:
        return None
    try:
        text_ = git.read_blob(entry.oid).decode("utf-8", "replace")
        return parse_card(text_, repo_type, max_bytes=ctx.hub.settings.max_card_bytes).data
    except CardError:
        return None


# --- lifecycle ---


def create_repo(
    ctx: Context,
    repo_type: str,
    namespace: str | None,
    name: str,
    *,
    private: bool,
    sdk: str | None = None,
) -> Repo:
    identity = ctx.identity
    if identity.anonymous:
        raise Unauthorized("You must be authenticated to create a repo")
    namespace = namespace or identity.name
    assert namespace is not None
    validate_repo_name(name)
    owner = account_by_name(ctx.session, namespace)
    if owner is None:
        raise NotFound(f"Namespace {namespace!r} not found")
    if not allowed(identity, "repo:create", Namespace(owner.id)):
        raise refusal(ctx, f"create a repo under {owner.name}")
    if repo_type == "space" and sdk not in SPACE_SDKS:
        raise BadRequest(f"A Space needs an sdk: one of {', '.join(SPACE_SDKS)}")
    key = f"{owner.name}/{name}".lower()
    existing = ctx.session.scalar(
        select(Repo).options(joinedload(Repo.namespace)).where(Repo.type == repo_type, Repo.key == key)
    )
    if existing is not None:
        raise Conflict(
            f"You already created this {repo_type} repo", extra={"url": repo_url(ctx.base_url, existing)}
        )
    # A new repo takes its name back from a repo that moved away from it.
    ctx.session.execute(delete(RepoRedirect).where(RepoRedirect.type == repo_type, RepoRedirect.key == key))
    repo = Repo(
        type=repo_type,
        namespace_id=owner.id,
        name=name,
        key=key,
        private=private,
        sdk=sdk if repo_type == "space" else None,
        created_by_id=identity.user_id,
    )
    repo.namespace = owner
    ctx.session.add(repo)
    ctx.session.flush()
    git = ctx.hub.git.create(repo.uid)
    ctx.uow.publish_on_commit(StagedCreation(ctx.hub.git, repo.uid))
    blob = git.write_blob(default_gitattributes(repo_type))
    assert identity.name is not None
    sha = git.write_commit(
        None,
        [PutFile(".gitattributes", blob)],
        title="initial commit",
        message="",
        author=identity.name,
        email=author_email(identity.name),
        when=utcnow(),
    )
    move_ref(ctx, repo, git, MAIN, sha, old=None)
    event(ctx, "repo:create", repo, private=private)
    return repo


def delete_repo(ctx: Context, repo: Repo) -> None:
    require_manage(ctx, repo)
    lock_repo(ctx, repo)
    event(ctx, "repo:delete", repo)
    oids = list(ctx.session.scalars(select(LfsObject.oid).where(LfsObject.repo_id == repo.id)))
    ctx.session.delete(repo)  # its LFS links go with it (ON DELETE CASCADE)
    ctx.session.flush()
    forget_blobs(ctx, oids)
    ctx.uow.publish_on_commit(ctx.hub.git.stage_removal(repo.uid))


def forget_blobs(ctx: Context, oids: Iterable[str]) -> None:
    """Delete those of `oids` that no repo links any more: the rows now, the bytes on commit.

    Storage is shared, so a blob goes only with its last repo. The bytes move aside when the
    transaction publishes and are removed once it committed (storage: StagedDeletion).
    """
    for oid in oids:
        if ctx.session.scalar(select(LfsObject.repo_id).where(LfsObject.oid == oid).limit(1)) is None:
            ctx.session.execute(delete(Blob).where(Blob.oid == oid))
            ctx.uow.publish_on_commit(ctx.hub.blobs.stage_deletion(oid))


def move_repo(ctx: Context, repo: Repo, to_id: str) -> None:
    require_manage(ctx, repo)
    namespace, sep, name = to_id.partition("/")
    if not sep or "/" in name:
        raise BadRequest(f"Invalid repo id {to_id!r}: expected namespace/name")
    validate_repo_name(name)
    owner = account_by_name(ctx.session, namespace)
    if owner is None:
        raise NotFound(f"Namespace {namespace!r} not found")
    if owner.id != repo.namespace_id and not allowed(ctx.identity, "repo:create", Namespace(owner.id)):
        raise refusal(ctx, f"create a repo under {owner.name}")
    new_key = f"{owner.name}/{name}".lower()
    clash = ctx.session.scalar(select(Repo.id).where(Repo.type == repo.type, Repo.key == new_key))
    if clash is not None and clash != repo.id:
        raise Conflict(f"A {repo.type} repository called {owner.name}/{name} already exists")
    old_id, old_key = repo.repo_id, repo.key
    ctx.session.execute(
        delete(RepoRedirect).where(RepoRedirect.type == repo.type, RepoRedirect.key == new_key)
    )
    if old_key != new_key:
        ctx.session.add(RepoRedirect(type=repo.type, key=old_key, repo_id=repo.id))
    repo.namespace_id = owner.id
    repo.namespace = owner
    repo.name = name
    repo.key = new_key
    event(ctx, "repo:move", repo, **{"from": old_id, "to": repo.repo_id})


def update_settings(ctx: Context, repo: Repo, *, private: bool | None, gated: str | bool | None) -> None:
    require_manage(ctx, repo)
    changes: dict[str, Any] = {}
    if private is not None and private != repo.private:
        repo.private = private
        changes["private"] = private
    if gated is not None:
        value = None if gated is False else gated
        if value not in (None, "auto", "manual"):
            raise BadRequest("gated must be 'auto', 'manual' or false")
        if value != repo.gated:
            repo.gated = value
            changes["gated"] = value or False
    if changes:
        event(ctx, "repo:settings:update", repo, **changes)


# --- refs ---


def list_refs(ctx: Context, repo: Repo, *, include_prs: bool) -> dict[str, list[dict[str, str]]]:
    git = open_git(ctx, repo)
    out: dict[str, list[dict[str, str]]] = {"branches": [], "tags": [], "converts": []}
    if include_prs:
        out["pullRequests"] = []
    for name, target in git.refs():
        for prefix, kind in (
            ("refs/heads/", "branches"),
            ("refs/tags/", "tags"),
            ("refs/convert/", "converts"),
        ):
            if name.startswith(prefix):
                out[kind].append({"name": name[len(prefix) :], "ref": name, "targetCommit": target})
        if include_prs and name.startswith("refs/pr/"):
            out["pullRequests"].append({"name": name, "ref": name, "targetCommit": target})
    if include_prs:
        out["pullRequests"].sort(key=lambda r: int(r["name"].rsplit("/", 1)[1]))
    return out


def _branch_ref(branch: str) -> str:
    ref = f"refs/heads/{branch}"
    if branch.startswith("refs/") or not is_valid_ref_name(ref):
        raise BadRequest(f"Invalid reference for a branch: {branch}")
    return ref


def create_branch(ctx: Context, repo: Repo, branch: str, starting_point: str | None) -> None:
    require_write(ctx, repo)
    ref = _branch_ref(branch)
    git = lock_repo(ctx, repo)
    start = resolve_revision(git, starting_point or "main")
    if git.ref_target(ref) is not None:
        raise Conflict(f"Reference {ref} already exists")
    move_ref(ctx, repo, git, ref, start, old=None)
    event(ctx, "repo:branch:create", repo, branch=branch, commit=start)


def delete_branch(ctx: Context, repo: Repo, branch: str) -> None:
    require_write(ctx, repo)
    ref = f"refs/heads/{branch}"
    if ref == MAIN:
        raise Forbidden(f"Cannot delete {MAIN}")
    git = lock_repo(ctx, repo)
    current = git.ref_target(ref) if is_valid_ref_name(ref) else None
    if current is None:
        raise RevisionNotFound(branch)
    move_ref(ctx, repo, git, ref, None, old=current)
    event(ctx, "repo:branch:delete", repo, branch=branch)


def create_tag(ctx: Context, repo: Repo, revision: str, tag: str, message: str | None) -> None:
    require_write(ctx, repo)
    git = lock_repo(ctx, repo)
    target = resolve_revision(git, revision)
    ref = f"refs/tags/{tag}"
    if not tag or tag.startswith("refs/") or not is_valid_ref_name(ref):
        raise BadRequest(f"Invalid tag name: {tag!r}")
    if git.ref_target(ref) is not None:
        raise Conflict(f"Tag {tag} already exists")
    assert ctx.identity.name is not None
    if message:
        # An annotated tag is an object; its ref points at it and peels to the commit.
        obj = git.write_tag(
            tag,
            target,
            message,
            author=ctx.identity.name,
            email=author_email(ctx.identity.name),
            when=utcnow(),
        )
        move_ref(ctx, repo, git, ref, obj, old=None)
    else:
        move_ref(ctx, repo, git, ref, target, old=None)
    event(ctx, "repo:tag:create", repo, tag=tag, commit=target)


def delete_tag(ctx: Context, repo: Repo, tag: str) -> None:
    require_write(ctx, repo)
    ref = f"refs/tags/{tag}"
    git = lock_repo(ctx, repo)
    if not is_valid_ref_name(ref) or git.ref_target(ref) is None:
        raise RevisionNotFound(tag)
    move_ref(ctx, repo, git, ref, None, old=git.raw_ref(ref))
    event(ctx, "repo:tag:delete", repo, tag=tag)


def writable_ref(git: GitRepo, revision: str) -> str:
    """The ref a commit to `revision` moves: a branch or refs/pr/N, never a tag or a commit id."""
    if re.fullmatch(r"refs/pr/\d+", revision) or revision.startswith("refs/heads/"):
        ref = revision
    else:
        ref = f"refs/heads/{revision}"
    if not is_valid_ref_name(ref) or git.ref_target(ref) is None:
        if git.resolve(revision) is not None:
            raise BadRequest(
                f"Cannot commit to {revision}: only branches and pull requests can be committed to"
            )
        raise RevisionNotFound(revision)
    return ref


def super_squash(ctx: Context, repo: Repo, branch: str, message: str | None) -> str:
    require_write(ctx, repo)
    git = lock_repo(ctx, repo)
    ref = writable_ref(git, branch)
    head = git.ref_target(ref)
    assert head is not None and ctx.identity.name is not None
    title = message or f"Super-squash branch '{branch}'"
    sha = git.write_squash(
        head, title=title, author=ctx.identity.name, email=author_email(ctx.identity.name), when=utcnow()
    )
    move_ref(ctx, repo, git, ref, sha, old=head)
    event(ctx, "repo:super-squash", repo, ref=ref, commit=sha)
    return sha


# --- reading files and history ---


@dataclass(frozen=True)
class Resolved:
    git: GitRepo
    commit: str
    ref: str | None = None  # the ref the revision went through; None for a commit id
    ref_target: str | None = None  # what that ref named directly when it was read

    @property
    def pin(self) -> Pin | None:
        """What an answer about this revision depends on, besides the database (commonshub.replay)."""
        return Pin(self.git.uid, self.ref, self.ref_target) if self.ref and self.ref_target else None


def at_revision(ctx: Context, repo: Repo, revision: str) -> Resolved:
    git = open_git(ctx, repo)
    found = git.resolve_ref(revision)
    if found is None:
        raise RevisionNotFound(revision)
    return Resolved(git=git, commit=found.commit, ref=found.ref, ref_target=found.ref_target)


# The index columns a tree entry is made of (Core rows: cheaper than ORM objects).
FILE_COLUMNS = (
    RepoFile.repo_id,
    RepoFile.path,
    RepoFile.size,
    RepoFile.blob_id,
    RepoFile.lfs_oid,
    RepoFile.lfs_size,
)
_HEAD_FILES = select(*FILE_COLUMNS).where(RepoFile.repo_id == bindparam("repo")).order_by(RepoFile.path)


def entries_of(rows: Sequence[Any]) -> list[TreeEntry]:
    """Index rows (of FILE_COLUMNS) as the tree entries git would give."""
    return [
        TreeEntry(
            path=f.path,
            type="file",
            oid=f.blob_id,
            size=f.size,
            lfs=LfsPointer(f.lfs_oid, f.lfs_size, len(format_pointer(f.lfs_oid, f.lfs_size)))
            if f.lfs_oid is not None and f.lfs_size is not None
            else None,
        )
        for f in rows
    ]


def list_files(ctx: Context, repo: Repo, at: Resolved) -> list[TreeEntry]:
    """The files of a revision: from the index for the indexed head of main, else from git."""
    if at.commit == repo.head_sha:
        return entries_of(ctx.session.execute(_HEAD_FILES, {"repo": repo.id}).all())
    return at.git.files(at.commit)


def repo_view(ctx: Context, repo: Repo, at: Resolved, properties: list[str], *, blobs: bool) -> RepoView:
    """The repo as `model_info` shows it at a revision: indexed rows at the head, git elsewhere."""
    files = list_files(ctx, repo, at) if NEEDS_FILES & set(properties) else None
    if at.commit == repo.head_sha:
        card_data, tags = repo.card_data, repo.tags or []
    else:
        all_files = files if files is not None else at.git.files(at.commit)
        by_path = {f.path: f for f in all_files}
        card_data = read_card(ctx, at.git, by_path.get("README.md"), repo.type)
        config = None
        if repo.type == "model" and (entry := by_path.get("config.json")) and entry.lfs is None:
            config = parse_config(at.git.read_blob(entry.oid))
        tags = sorted(derive(repo.type, card_data or {}, list(by_path), config, sdk=repo.sdk).tags)
    return RepoView(
        repo=repo,
        repo_id=repo.repo_id,
        author=repo.namespace.name,
        sha=at.commit,
        last_modified=at.git.commit_info(at.commit).date,
        files=files,
        card_data=card_data,
        tags=tags,
        blobs=blobs,
    )


def tree(ctx: Context, at: Resolved, path: str, *, recursive: bool) -> list[TreeEntry]:
    entries = at.git.list_tree(at.commit, path, recursive=recursive)
    if entries is None:
        entry = at.git.entry(at.commit, path) if path else None
        if entry is not None and entry.type == "file":
            return [entry]  # HfFileSystem tolerates a file's own entry
        raise EntryNotFound(f"{path} does not exist on this revision")
    return entries


def file_entry(at: Resolved, path: str) -> TreeEntry:
    entry = at.git.entry(at.commit, path) if path else None
    if entry is None or entry.type != "file":
        raise EntryNotFound(commit=at.commit)
    return entry


def history(at: Resolved, *, offset: int, limit: int) -> tuple[list[CommitInfo], int]:
    return at.git.history(at.commit, offset=offset, limit=limit), at.git.count_history(at.commit)
