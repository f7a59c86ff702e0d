"""marketing spend and daily sessions

Revision ID: 5b1e0c7a9d42
Revises: 2d73473a9352
Create Date: 2026-12-02 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trofast.kit.base

revision: str = "5b1e0c7a9d42"
down_revision: str | None = "2d73473a9352"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "marketing_spend",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("spend_minor", sa.BigInteger(), nullable=False),
        sa.Column("loaded_at", trofast.kit.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("spend_minor >= 0", name=op.f("ck_marketing_spend_spend_not_negative")),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_marketing_spend")),
    )
    op.create_table(
        "daily_sessions",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sessions", sa.BigInteger(), nullable=False),
        sa.Column("loaded_at", trofast.kit.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sessions >= 0", name=op.f("ck_daily_sessions_sessions_not_negative")),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_sessions")),
    )


def downgrade() -> None:
    op.drop_table("daily_sessions")
    op.drop_table("marketing_spend")
