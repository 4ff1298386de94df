"""channel orders: re-pricing by the channel's reference (price asks counted, reference indexed)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("price_asks", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            "ix_channel_orders_reference",
            ["channel_partner_id", "external_reference_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_orders_reference")
        batch_op.drop_column("price_asks")
