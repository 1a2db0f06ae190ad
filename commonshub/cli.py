"""`commonshub`: serve the hub and administer it without a browser. Every command is scriptable:
given its flags, none prompts."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commonshub.errors import HubError
from commonshub.hub import Hub
from commonshub.settings import Settings

app = typer.Typer(
    help="Commons Hub: a self-hosted, community-governed hub for AI models and datasets.",
    no_args_is_help=True,
    add_completion=False,
)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage access tokens.", no_args_is_help=True)
org_app = typer.Typer(help="Manage organizations.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(org_app, name="org")
app.add_typer(db_app, name="db")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $COMMONSHUB_DATA_DIR or ./hub-data)."),
]


def _settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    return Settings.from_env(data_dir=data_dir, **overrides)


def _fail(message: str) -> None:
    typer.secho(f"Error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@contextlib.contextmanager
def _admin(data_dir: Path | None) -> Iterator[Session]:
    """A write transaction for one administrative command, on a migrated database."""
    from commonshub import db

    settings = _settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db.upgrade(settings.resolved_database_url)
    hub = Hub(settings)
    try:
        with hub.db.unit_of_work(write=True) as uow:
            yield uow.session
    except HubError as exc:
        _fail(exc.message)
    finally:
        hub.db.dispose()


def _audit(session: Session, tag: str, namespace_id: int | None = None, **data: Any) -> None:
    """The audit event of an administrative command: no actor, no address, `via: cli`."""
    from commonshub.events.service import add

    add(session, tag, actor_id=None, ip=None, namespace_id=namespace_id, via="cli", **data)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: 8000).")] = None,
    data_dir: DataDir = None,
    workers: Annotated[int | None, typer.Option(help="Server processes (default: 1).")] = None,
) -> None:
    """Migrate the database, create the first administrator if there is none, and serve the hub."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

    from commonshub import db
    from commonshub.repos.recovery import recover

    settings = _settings(data_dir, host=host, port=port, workers=workers)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db.upgrade(settings.resolved_database_url)
    hub = Hub(settings)
    try:
        recover(hub)
        _bootstrap(hub)
    finally:
        hub.db.dispose()
    # The workers build their own app from the same settings, passed down through the environment.
    os.environ["COMMONSHUB_DATA_DIR"] = str(settings.data_dir.resolve())
    os.environ.setdefault("COMMONSHUB_DATABASE_URL", settings.resolved_database_url)
    typer.echo(f"Commons Hub on http://{settings.host}:{settings.port} (data in {settings.data_dir})")
    # Granian rather than uvicorn: measured in bench/, it serves /resolve a third faster under
    # many connections. It runs the app in worker processes under a supervisor, even with one.
    Granian(
        "commonshub.app:create_app_from_env",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        # HTTP/1.1 only: the clients speak it, and a TLS proxy in front speaks HTTP/2 to its own
        # clients if it likes. Skipping the protocol detection is worth a few percent (bench/).
        http=HTTPModes.http1,
        workers=settings.workers,
        factory=True,
        log_access=False,
        respawn_failed_workers=True,
    ).serve()


def _bootstrap(hub: Hub) -> None:
    """On the first start, with no user yet: an administrator `admin` and a write token, shown once."""
    from commonshub.accounts.service import create_token, create_user
    from commonshub.models import User

    with hub.db.unit_of_work(write=True) as uow:
        if uow.session.scalar(select(func.count()).select_from(User)):
            return
        admin = create_user(uow.session, "admin", fullname="Administrator", is_admin=True)
        _, value = create_token(uow.session, admin, name="bootstrap", role="write")
    url = hub.settings.public_url or f"http://{hub.settings.host}:{hub.settings.port}"
    typer.secho("\nCreated the administrator `admin`. Its token is shown only this once:\n", bold=True)
    typer.echo(f"    export HF_ENDPOINT={url}")
    typer.echo(f"    export HF_TOKEN={value}\n")


@user_app.command("create")
def user_create(
    name: str,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    fullname: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[str | None, typer.Option(help="Password for the web UI.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user a site administrator.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a user."""
    from commonshub.accounts.service import create_user

    with _admin(data_dir) as session:
        user = create_user(session, name, email=email, fullname=fullname, password=password, is_admin=admin)
        _audit(session, "user:create", user.id, user=user.name, admin=admin)
        typer.echo(f"Created user {user.name}" + (" (administrator)" if admin else ""))


@user_app.command("disable")
def user_disable(name: str, data_dir: DataDir = None) -> None:
    """Disable a user: their tokens stop working at once (nothing is deleted)."""
    from commonshub.accounts.service import set_disabled, user_by_name

    with _admin(data_dir) as session:
        user = user_by_name(session, name)
        set_disabled(session, user, True)
        _audit(session, "user:disable", user.id, user=user.name)
    typer.echo(f"Disabled user {name}: their tokens are refused")


@user_app.command("enable")
def user_enable(name: str, data_dir: DataDir = None) -> None:
    """Enable a disabled user again: their tokens that were not revoked work again."""
    from commonshub.accounts.service import set_disabled, user_by_name

    with _admin(data_dir) as session:
        user = user_by_name(session, name)
        set_disabled(session, user, False)
        _audit(session, "user:enable", user.id, user=user.name)
    typer.echo(f"Enabled user {name}")


@user_app.command("invite")
def user_invite(
    email: Annotated[str | None, typer.Option(help="Who the invitation is for (shown to admins).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Print a sign-up invitation (for hubs whose `signup` setting is `invite`)."""
    from commonshub.accounts.service import invite

    settings = _settings(data_dir)
    with _admin(data_dir) as session:
        _, secret = invite(session, invited_by=None, ttl_days=settings.invitation_ttl_days, email=email)
        _audit(session, "hub:invite", email=email)
    typer.echo(secret)


def _scope(spec: str) -> dict[str, Any]:
    """TYPE:NAME:PERMISSION[,PERMISSION…], e.g. model:alice/bert:repo.content.read,repo.write."""
    kind, _, rest = spec.partition(":")
    name, _, permissions = rest.rpartition(":")
    if not kind or not name or not permissions:
        _fail(f"{spec!r} is not TYPE:NAME:PERMISSIONS (e.g. model:alice/bert:repo.content.read)")
    return {"entity": {"type": kind, "name": name}, "permissions": permissions.split(",")}


@token_app.command("create")
def token_create(
    user: str,
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "default",
    role: Annotated[str, typer.Option(help="read, write or fineGrained (needs --scope).")] = "write",
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="Fine-grained: TYPE:NAME:PERMISSIONS, e.g. model:alice/bert:repo.content.read,repo.write "
            "or org:acme:repo.write; repeatable."
        ),
    ] = None,
    expires_in_days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
    value: Annotated[
        str | None, typer.Option(help="Use this value instead of a random one (scripted set-ups).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an access token for USER and print it: it is stored hashed, so it is shown only now."""
    from datetime import timedelta

    from commonshub.accounts.service import create_token, user_by_name
    from commonshub.models import utcnow

    scopes = [_scope(s) for s in scope or []]
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    with _admin(data_dir) as session:
        owner = user_by_name(session, user)
        _, token = create_token(
            session, owner, name=name, role=role, value=value, scopes=scopes or None, expires_at=expires_at
        )
        _audit(session, "token:create", owner.id, user=owner.name, token=name, role=role)
    typer.echo(token)


@token_app.command("list")
def token_list(user: str, data_dir: DataDir = None) -> None:
    """List USER's tokens that were not revoked: id, name, role, created, last used, expiry."""
    from commonshub.accounts.service import list_tokens, user_by_name

    with _admin(data_dir) as session:
        for token in list_tokens(session, user_by_name(session, user)):
            last = token.last_used_at.isoformat(timespec="minutes") if token.last_used_at else "never"
            expires = token.expires_at.isoformat(timespec="minutes") if token.expires_at else "never"
            created = token.created_at.isoformat(timespec="minutes")
            typer.echo(
                f"{token.id}\t{token.name}\t{token.role}\tcreated {created}\tlast used {last}\texpires {expires}"
            )


@token_app.command("revoke")
def token_revoke(user: str, name: str, data_dir: DataDir = None) -> None:
    """Revoke every token of USER called NAME."""
    from commonshub.accounts.service import revoke_tokens, user_by_name

    with _admin(data_dir) as session:
        owner = user_by_name(session, user)
        count = revoke_tokens(session, owner, name)
        _audit(session, "token:revoke", owner.id, user=owner.name, token=name)
    typer.echo(f"Revoked {count} token(s)")


def _member(spec: str) -> tuple[str, str]:
    user, sep, role = spec.partition(":")
    if not sep or not user or not role:
        _fail(f"{spec!r} is not USER:ROLE")
    return user, role


@org_app.command("create")
def org_create(
    name: str,
    fullname: Annotated[str, typer.Option(help="Display name.")] = "",
    member: Annotated[
        list[str] | None, typer.Option(help="USER:ROLE (read, contributor, write, admin); repeatable.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an organization, optionally with members."""
    from commonshub.accounts.service import create_org, set_membership, user_by_name

    members = [_member(m) for m in member or []]
    with _admin(data_dir) as session:
        org = create_org(session, name, fullname=fullname)
        _audit(session, "org:create", org.id, org=org.name)
        for user, role in members:
            set_membership(session, org, user_by_name(session, user), role)
            _audit(session, "org:member:add", org.id, user=user, role=role)
    typer.echo(f"Created organization {name}")


@org_app.command("add-member")
def org_add_member(org: str, member: str, data_dir: DataDir = None) -> None:
    """Add USER:ROLE to ORG (or change the role of a member)."""
    from commonshub.accounts.service import org_by_name, set_membership, user_by_name

    user, role = _member(member)
    with _admin(data_dir) as session:
        organization = org_by_name(session, org)
        set_membership(session, organization, user_by_name(session, user), role)
        _audit(session, "org:member:add", organization.id, user=user, role=role)
    typer.echo(f"{user} is now {role} in {org}")


@org_app.command("remove-member")
def org_remove_member(org: str, user: str, data_dir: DataDir = None) -> None:
    """Remove USER from ORG (an org keeps at least one admin)."""
    from commonshub.accounts.service import org_by_name, remove_member, user_by_name

    with _admin(data_dir) as session:
        organization = org_by_name(session, org)
        remove_member(session, organization, user_by_name(session, user))
        _audit(session, "org:member:remove", organization.id, user=user)
    typer.echo(f"{user} is no longer a member of {org}")


@org_app.command("members")
def org_members(org: str, data_dir: DataDir = None) -> None:
    """List the members of ORG with their roles."""
    from commonshub.accounts.service import members, org_by_name

    with _admin(data_dir) as session:
        for user, role in members(session, org_by_name(session, org)):
            typer.echo(f"{user.name}\t{role}")


@org_app.command("invite")
def org_invite(
    org: str,
    role: Annotated[str, typer.Option(help="read, contributor, write or admin.")] = "read",
    user: Annotated[str | None, typer.Option(help="An existing user, who accepts it when signed in.")] = None,
    email: Annotated[str | None, typer.Option(help="An e-mail address: prints the secret to send.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Invite a user or an e-mail address to ORG with ROLE."""
    from commonshub.accounts.service import invite, org_by_name, user_by_name

    settings = _settings(data_dir)
    with _admin(data_dir) as session:
        organization = org_by_name(session, org)
        invitee = user_by_name(session, user) if user else None
        _, secret = invite(
            session,
            invited_by=None,
            ttl_days=settings.invitation_ttl_days,
            org=organization,
            role=role,
            user=invitee,
            email=email,
        )
        _audit(session, "org:invite", organization.id, user=user, email=email, role=role)
    typer.echo(secret if invitee is None else f"Invited {user} to {org} as {role}")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Bring the database schema up to date (safe to run at any time)."""
    from commonshub import db

    settings = _settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db.upgrade(settings.resolved_database_url)
    typer.echo("Database is up to date")


@app.command()
def fsck(
    repair: Annotated[bool, typer.Option("--repair", help="Fix what can be fixed.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Check git refs, database rows and blobs against each other; report (--repair: fix) mismatches."""
    from commonshub import db
    from commonshub.repos.fsck import check

    settings = _settings(data_dir)
    db.upgrade(settings.resolved_database_url)
    hub = Hub(settings)
    try:
        problems = check(hub, repair=repair)
    finally:
        hub.db.dispose()
    for problem in problems:
        state = "fixed" if problem.repaired else "found"
        typer.echo(f"{state}: {problem.kind}: {problem.subject}: {problem.detail}")
    left = [p for p in problems if not p.repaired]
    typer.echo(f"{len(problems)} problem(s), {len(problems) - len(left)} fixed")
    if left:
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except HubError as exc:
        typer.secho(f"Error: {exc.message}", fg=typer.colors.RED, err=True)
        sys.exit(1)
