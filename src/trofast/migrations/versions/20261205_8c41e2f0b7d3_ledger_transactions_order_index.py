"""index ledger transactions by order

A refund, a cancellation or a delivery looks up the order's earnings and pending lots by
`ledger_transactions.order_id`; without an index that was a scan of the whole ledger.

Revision ID: 8c41e2f0b7d3
Revises: 5b1e0c7a9d42
Create Date: 2026-12-05 23:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8c41e2f0b7d3"
down_revision: str | None = "5b1e0c7a9d42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_transactions_order_id"), ["order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_transactions_order_id"))
