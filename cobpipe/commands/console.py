"""`cobpipe console ROOT` (the billers' and analysts' web console) and `cobpipe user add ROOT NAME`."""
from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

import click

from edi.errors import CobpipeError


class ConsoleConfigError(CobpipeError):
    """The ROOT, the ledger or a setting cannot be used."""


def open_ledger(root: Path, db: str | None):
    """The ROOT's ledger: ROOT/.cobpipe/ledger.db, a SQLite file given with --db, or a
    postgresql:// URL (Ledger.open chooses the dialect)."""
    from ..ledger import Ledger

    if db and db.startswith(("postgres://", "postgresql://")):
        return Ledger.open(db)
    return Ledger.open(Path(db).expanduser() if db else Path(root) / ".cobpipe" / "ledger.db")


def _root(root: Path) -> Path:
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise ConsoleConfigError(f"{root}: ROOT is not a folder")
    return root


@click.command()
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--db", envvar="COBPIPE_DB",
              help="Ledger: a SQLite file or a postgresql:// URL (default $COBPIPE_DB, else ROOT/.cobpipe/ledger.db).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--usage", type=click.Choice(["P", "T"]), default="P", show_default=True,
              help="ISA15 of the claims sent from the console.")
@click.option("--idle-minutes", type=click.IntRange(1, 24 * 60), default=30, show_default=True,
              help="A session ends after this long without a request.")
@click.option("--secure-cookie", is_flag=True, help="Mark the session cookie Secure (serve behind HTTPS).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
def console(root, db, host, port, usage, idle_minutes, secure_cookie, log_level):
    """Serve the web console for a drop-folder ROOT (its ledger): the work queue, the secondary
    claim screen, paper EOB entry, the remittance explorer, files and runs.

    \b
    Example:
      cobpipe user add /srv/cob alice --role biller
      cobpipe console /srv/cob                      # then open http://127.0.0.1:8080

    Listens on 127.0.0.1 unless --host says otherwise. Request logs are JSON lines on stderr without
    query strings or form data. Stop with Ctrl-C or SIGTERM.
    """
    import datetime as dt

    import uvicorn

    from ..console.app import Settings, create_app
    from ..console.auth import SessionPolicy
    from ..logs import configure, unconfigure

    root = _root(root)
    handler = configure(sys.stderr, getattr(logging, log_level.upper()))
    try:
        with contextlib.closing(open_ledger(root, db)) as ledger:
            settings = Settings(root, usage=usage, policy=SessionPolicy(idle=dt.timedelta(minutes=idle_minutes),
                                                                        secure_cookie=secure_cookie))
            app = create_app(root, ledger, settings=settings)
            if not app.state.store.users():
                click.echo(f"cobpipe: no console user yet: cobpipe user add {root} NAME --role admin", err=True)
            click.echo(f"cobpipe console: http://{host}:{port}/ (ROOT {root})", err=True)
            # no uvicorn access log (its lines carry query strings) and no uvicorn logging setup
            uvicorn.run(app, host=host, port=port, access_log=False, log_config=None, log_level=log_level,
                        server_header=False)
    finally:
        unconfigure(handler)


@click.group()
def user():
    """Console users: `cobpipe user add|password|list ROOT ...`."""


def _password(password_stdin: bool) -> str:
    from ..console.auth import MIN_PASSWORD

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise ConsoleConfigError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


@user.command("add")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("name")
@click.option("--role", type=click.Choice(["biller", "analyst", "admin"]), default="biller", show_default=True)
@click.option("--db", envvar="COBPIPE_DB",
              help="Ledger: a SQLite file or a postgresql:// URL (default $COBPIPE_DB, else ROOT/.cobpipe/ledger.db).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def user_add(root, name, role, db, password_stdin):
    """Create a console user (password prompted twice, or read from stdin).

    \b
    Example:
      cobpipe user add /srv/cob alice --role admin
      printf '%s\\n' "$PASSWORD" | cobpipe user add /srv/cob bob --password-stdin
    """
    from ..console.auth import hash_password
    from ..console.store import ConsoleStore

    root = _root(root)
    name = name.strip()
    if not name or len(name) > 64 or not name.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise ConsoleConfigError(f"user name {name!r}: letters, digits, '.', '-' or '_' (at most 64)")
    password = _password(password_stdin)
    with contextlib.closing(open_ledger(root, db)) as ledger:
        store = ConsoleStore(ledger)
        try:
            store.add_user(name, role, hash_password(password))
        except ValueError as exc:
            raise ConsoleConfigError(str(exc)) from exc
        store.audit("(command line)", "user.add", name, {"role": role})
    click.echo(f"user {name} added ({role})")



@user.command("password")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("name")
@click.option("--db", envvar="COBPIPE_DB",
              help="Ledger: a SQLite file or a postgresql:// URL (default $COBPIPE_DB, else ROOT/.cobpipe/ledger.db).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--enable", is_flag=True, help="Also enable the user if an admin disabled them.")
def user_password(root, name, db, password_stdin, enable):
    """Set a console user's password (ends their sessions): for the admin who forgot theirs.

    \b
    Example:
      cobpipe user password /srv/cob alice
    """
    from ..console.auth import hash_password
    from ..console.store import ConsoleStore

    root = _root(root)
    with contextlib.closing(open_ledger(root, db)) as ledger:
        store = ConsoleStore(ledger)
        if store.user(name) is None:
            raise ConsoleConfigError(f"no console user {name!r}")
        store.set_password(name, hash_password(_password(password_stdin)))
        if enable:
            store.set_disabled(name, False)
        store.audit("(command line)", "user.password", name, {"enabled": enable})
    click.echo(f"password of {name} set")


@user.command("list")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--db", envvar="COBPIPE_DB",
              help="Ledger: a SQLite file or a postgresql:// URL (default $COBPIPE_DB, else ROOT/.cobpipe/ledger.db).")
def user_list(root, db):
    """The console users: name, role, active or disabled."""
    from ..console.store import ConsoleStore

    with contextlib.closing(open_ledger(_root(root), db)) as ledger:
        for each in ConsoleStore(ledger).users():
            click.echo(f"{each.name}\t{each.role}\t{'disabled' if each.disabled else 'active'}")


COMMANDS = [console, user]
