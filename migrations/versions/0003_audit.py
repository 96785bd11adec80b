"""The tamper-evident audit log: audit_events, audit_event_index, audit_chain.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", BigId, nullable=False, autoincrement=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("recorded", sa.DateTime(timezone=False), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
        sa.UniqueConstraint("event_id", name="uq_audit_events_event_id"),
    )
    op.create_index("ix_audit_events_recorded", "audit_events", ["recorded", "seq"])
    op.create_table(
        "audit_event_index",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("seq", BigId, nullable=False),
        sa.Column("param", sa.String(16), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_event_index"),
        sa.ForeignKeyConstraint(["seq"], ["audit_events.seq"], ondelete="CASCADE",
                                name="fk_audit_event_index_seq_audit_events"),
    )
    op.create_index("ix_audit_event_index_value", "audit_event_index", ["param", "value", "seq"])
    op.create_index("ix_audit_event_index_seq", "audit_event_index", ["seq"])
    chain = op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("seq", BigId, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_chain"),
    )
    op.bulk_insert(chain, [{"id": 1, "seq": 0, "hash": GENESIS}])


def downgrade() -> None:
    op.drop_table("audit_chain")
    op.drop_index("ix_audit_event_index_seq", table_name="audit_event_index")
    op.drop_index("ix_audit_event_index_value", table_name="audit_event_index")
    op.drop_table("audit_event_index")
    op.drop_index("ix_audit_events_recorded", table_name="audit_events")
    op.drop_table("audit_events")
