"""PostgreSQL extended statistics on the search index tables (SQLite: nothing to do).

The planner multiplies the selectivities of res_type, param, system and value as if they were
independent, so `category=A01-2` looked like 5 rows when it was a third of all CarePlans. It then
merged the patient's few plans against every category entry: a search that grew with the data.
With the columns' joint distribution (MCV lists and dependencies) it probes the token index per
candidate instead (https://www.postgresql.org/docs/current/planner-stats.html#PLANNER-STATS-EXTENDED).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STATS = {
    "st_search_token": ("search_token", "res_type, param, system, value"),
    "st_search_reference": ("search_reference", "res_type, param, target_type"),
    "st_search_string": ("search_string", "res_type, param"),
    "st_search_date": ("search_date", "res_type, param"),
    "st_search_uri": ("search_uri", "res_type, param"),
    "st_search_quantity": ("search_quantity", "res_type, param"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, columns) in STATS.items():
        op.execute(f"CREATE STATISTICS IF NOT EXISTS {name} (mcv, dependencies) ON {columns} FROM {table}")
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in STATS:
        op.execute(f"DROP STATISTICS IF EXISTS {name}")
