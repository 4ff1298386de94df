"""the contract each partner speaks

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every partner stored so far speaks the one contract maitred spoke (docs/decisions/0020).
    op.add_column(
        "partners",
        sa.Column("contract", sa.String(length=32), server_default="mozrest", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("contract")
