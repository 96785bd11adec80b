"""Search index tables (one per parameter type) and the default keyset-order index.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Folded strings and URIs compare byte-wise on PostgreSQL, so prefix ranges use the index.
Folded = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")
Uri = sa.String(512).with_variant(sa.String(512, collation="C"), "postgresql")

TABLES = {
    "search_token": [
        sa.Column("system", sa.String(512), nullable=True),
        sa.Column("value", sa.String(512), nullable=True),
        sa.Column("text", Folded, nullable=True),
    ],
    "search_string": [
        sa.Column("norm", Folded, nullable=False),
        sa.Column("exact", sa.Text, nullable=False),
    ],
    "search_date": [
        sa.Column("lo", sa.DateTime(timezone=False), nullable=False),
        sa.Column("hi", sa.DateTime(timezone=False), nullable=False),
    ],
    "search_reference": [
        sa.Column("target_type", sa.String(64), nullable=True),
        sa.Column("target_id", sa.String(64), nullable=True),
        sa.Column("url", Uri, nullable=True),
    ],
    "search_uri": [sa.Column("value", Uri, nullable=False)],
    "search_quantity": [
        sa.Column("system", sa.String(512), nullable=True),
        sa.Column("code", sa.String(128), nullable=True),
        sa.Column("lo", sa.Float, nullable=True),
        sa.Column("hi", sa.Float, nullable=True),
    ],
    "search_composite": [
        sa.Column("c1_system", sa.String(512), nullable=True),
        sa.Column("c1_code", sa.String(512), nullable=True),
        sa.Column("c2_system", sa.String(512), nullable=True),
        sa.Column("c2_code", sa.String(512), nullable=True),
        sa.Column("c2_lo", sa.Float, nullable=True),
        sa.Column("c2_hi", sa.Float, nullable=True),
    ],
}

INDEXES = [
    ("ix_search_token_value", "search_token", ["res_type", "param", "value", "system", "res_pk"]),
    ("ix_search_string_norm", "search_string", ["res_type", "param", "norm", "res_pk"]),
    ("ix_search_date_lo", "search_date", ["res_type", "param", "lo", "hi", "res_pk"]),
    ("ix_search_date_hi", "search_date", ["res_type", "param", "hi", "res_pk"]),
    ("ix_search_reference_target", "search_reference",
     ["res_type", "param", "target_type", "target_id", "res_pk"]),
    ("ix_search_reference_rev", "search_reference",
     ["target_type", "target_id", "res_type", "param"]),
    ("ix_search_reference_url", "search_reference", ["res_type", "param", "url"]),
    ("ix_search_uri_value", "search_uri", ["res_type", "param", "value", "res_pk"]),
    ("ix_search_quantity_value", "search_quantity", ["res_type", "param", "lo", "hi", "res_pk"]),
    ("ix_search_composite_c1", "search_composite", ["res_type", "param", "c1_code", "res_pk"]),
]


def upgrade() -> None:
    for name, cols in TABLES.items():
        op.create_table(
            name,
            sa.Column("id", BigId, primary_key=True, autoincrement=True),
            sa.Column("res_pk", BigId, nullable=False),
            sa.Column("res_type", sa.String(64), nullable=False),
            sa.Column("param", sa.String(128), nullable=False),
            *cols,
            sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
            sa.ForeignKeyConstraint(["res_pk"], ["resources.pk"], ondelete="CASCADE",
                                    name=f"fk_{name}_res_pk_resources"),
        )
        op.create_index(f"ix_{name}_pk", name, ["res_pk", "param"])
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols)
    op.create_index("ix_resources_search_type_pk", "resources", ["res_type", "pk"])


def downgrade() -> None:
    op.drop_index("ix_resources_search_type_pk", table_name="resources")
    for name in reversed(list(TABLES)):
        op.drop_table(name)
