from __future__ import annotations

from enum import StrEnum

import typer
from rich.table import Table

from trofast.cli.context import console, engine_scope, print_table, session_scope
from trofast.ingest import sources

app = typer.Typer(
    help="Shops that send signed webhooks (Shopify, WooCommerce).", no_args_is_help=True
)


class Kind(StrEnum):
    shopify = "shopify"
    woocommerce = "woocommerce"


@app.command("add")
def add(
    kind: Kind = typer.Argument(..., help="shopify or woocommerce"),
    domain: str = typer.Option(
        ..., "--domain", help="Shop domain, e.g. my-shop.myshopify.com or shop.example.com."
    ),
    secret: str = typer.Option(
        ..., "--secret", prompt=True, hide_input=True, help="The webhook signing secret."
    ),
) -> None:
    """Register a shop and its webhook secret (adding it again replaces the secret)."""
    with engine_scope() as engine, session_scope(engine) as session:
        sources.add_or_update(session, kind.value, domain, secret)
    console.print(f"{kind.value} source {domain} saved")


@app.command("list")
def list_sources() -> None:
    """List registered shops (secrets are not shown)."""
    with engine_scope() as engine, session_scope(engine) as session:
        table = Table("kind", "domain", "active", "added")
        for row in sources.list_all(session):
            table.add_row(
                row.kind, row.name, "yes" if row.active else "no", f"{row.created_at:%Y-%m-%d}"
            )
    print_table(table)
