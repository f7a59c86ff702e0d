from __future__ import annotations

import typer
from rich.table import Table

from trofast.auth import service
from trofast.auth.scopes import Scope
from trofast.cli.context import console, engine_scope, print_table, session_scope

app = typer.Typer(help="API keys: create, list and revoke.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="What the key is for, e.g. 'shop backend'."),
    scope: list[Scope] = typer.Option(
        ..., "--scope", help="admin, ingest, pos or storefront; repeat for several."
    ),
) -> None:
    """Create a key. The key is printed once: store it now, only a hash is kept."""
    with engine_scope() as engine, session_scope(engine) as session:
        created = service.create_key(session, name, scope)
        prefix = created.key.prefix
    console.print(f"[bold green]{created.secret}[/bold green]")
    console.print(f"prefix {prefix}, scopes {', '.join(s.value for s in scope)} (shown once)")


@app.command("list")
def list_keys() -> None:
    """List keys with their scopes and state (never the key itself)."""
    with engine_scope() as engine, session_scope(engine) as session:
        rows = service.list_keys(session)
        table = Table("prefix", "name", "scopes", "created", "last used", "revoked")
        for key in rows:
            table.add_row(
                key.prefix,
                key.name,
                ",".join(key.scopes),
                f"{key.created_at:%Y-%m-%d %H:%M}",
                f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "-",
                f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
            )
    print_table(table)


@app.command("revoke")
def revoke(
    prefix: str = typer.Argument(..., help="The key's prefix, as `keys list` shows."),
) -> None:
    """Revoke a key at once; requests with it get 401 from now on."""
    with engine_scope() as engine, session_scope(engine) as session:
        service.revoke_key(session, prefix)
    console.print(f"revoked {prefix}")
