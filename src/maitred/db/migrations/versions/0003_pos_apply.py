"""a generation for the caches of routing rows (docs/decisions/0030)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the POS path caches is read from these rows; any change to them gives the generation a
# new random value in the same transaction (maitred.db.generations).
WATCHED = {
    "venue_links": None,  # every column
    "table_mappings": None,
    "partners": ("webhook_url", "contract", "kind"),
    "endpoints": ("url", "partner_id", "name"),
}
SQLITE_BUMP = "UPDATE generations SET value = random() WHERE name = 'routing';"


def _sqlite_triggers() -> None:
    for table, columns in WATCHED.items():
        of = f" OF {', '.join(columns)}" if columns else ""
        for event in ("INSERT", "DELETE", f"UPDATE{of}"):
            name = f"gen_{table}_{event.split()[0].lower()}"
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {SQLITE_BUMP} END")


def _postgresql_triggers() -> None:
    op.execute(
        "CREATE FUNCTION bump_routing_generation() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN UPDATE generations SET value = (random() * 9.2e18)::bigint"
        " WHERE name = 'routing'; RETURN NULL; END $$"
    )
    for table, columns in WATCHED.items():
        of = f" OF {', '.join(columns)}" if columns else ""
        op.execute(
            f"CREATE TRIGGER gen_{table} AFTER INSERT OR DELETE OR UPDATE{of} ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION bump_routing_generation()"
        )


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_generations")),
    )
    op.execute("INSERT INTO generations (name, value) VALUES ('routing', 1)")
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER gen_{table} ON {table}")
        op.execute("DROP FUNCTION bump_routing_generation()")
    else:
        for table in WATCHED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER gen_{table}_{event}")
    op.drop_table("generations")
