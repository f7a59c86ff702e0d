"""index the ledger lots that can come due

The hourly settle and expire jobs find the members with due lots by the lots' state and
dates; without these partial indexes that was a scan of every lot ever earned.

Revision ID: 040cd429f98c
Revises: 8c41e2f0b7d3
Create Date: 2026-12-06 02:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "040cd429f98c"
down_revision: str | None = "8c41e2f0b7d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported from the models: a migration keeps the predicate it shipped with.
INDEXES = {
    "ix_ledger_lots_due_pending": ("available_at", "state = 'pending'"),
    "ix_ledger_lots_due_expiring": ("expires_at", "remaining > 0 AND expires_at IS NOT NULL"),
}


def upgrade() -> None:
    for name, (column, predicate) in INDEXES.items():
        where = sa.text(predicate)
        op.create_index(name, "ledger_lots", [column], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="ledger_lots")
