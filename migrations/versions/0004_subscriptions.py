"""Subscriptions and sync: the commit-ordered change log, subscription state and events, sync state.

Revision ID: 0004
Revises: 0003

`sync_changes` is filled by a trigger on `resource_versions`. On PostgreSQL it is a deferred
constraint trigger that takes one advisory lock at commit time, so `pos` is assigned in commit
order and a reader never sees pos N+1 while N can still appear (docs/sync.md). SQLite has one
writer at a time, so a plain AFTER INSERT trigger is already in commit order.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Advisory lock key of the change log (app.repository.outbox.CHANGE_LOCK_KEY).
CHANGE_LOCK_KEY = 7_361_202_611_004

_COLUMNS = "seq, res_type, res_id, version_id, deleted, committed_us"
_VALUES = "NEW.seq, NEW.res_type, NEW.res_id, NEW.version_id, NEW.deleted"

PG_FUNCTION = f"""
CREATE FUNCTION fp_sync_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock({CHANGE_LOCK_KEY});
  INSERT INTO sync_changes ({_COLUMNS})
  VALUES ({_VALUES}, (extract(epoch from clock_timestamp()) * 1000000)::bigint);
  RETURN NULL;
END $$
"""
PG_TRIGGER = """
CREATE CONSTRAINT TRIGGER trg_sync_changes AFTER INSERT ON resource_versions
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fp_sync_record_change()
"""
SQLITE_TRIGGER = f"""
CREATE TRIGGER trg_sync_changes AFTER INSERT ON resource_versions
BEGIN
  INSERT INTO sync_changes ({_COLUMNS})
  VALUES ({_VALUES}, CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER));
END
"""


def _tables() -> None:
    op.create_table(
        "sync_changes",
        sa.Column("pos", BigId, nullable=False, autoincrement=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("committed_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("pos", name="pk_sync_changes"),
        sa.UniqueConstraint("seq", name="uq_sync_changes_seq"),
    )
    op.create_index("ix_sync_changes_type_pos", "sync_changes", ["res_type", "pos"])
    op.create_table(
        "subscription_state",
        sa.Column("res_pk", BigId, nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("cursor_pos", sa.BigInteger, nullable=False),
        sa.Column("next_event", sa.BigInteger, nullable=False),
        sa.Column("fail_count", sa.Integer, nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=False), nullable=True),
        sa.PrimaryKeyConstraint("res_pk", name="pk_subscription_state"),
        sa.ForeignKeyConstraint(["res_pk"], ["resources.pk"], ondelete="CASCADE",
                                name="fk_subscription_state_res_pk_resources"),
        sa.UniqueConstraint("res_id", name="uq_subscription_state_res_id"),
    )
    op.create_table(
        "subscription_events",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("sub_pk", BigId, nullable=False),
        sa.Column("event_number", sa.BigInteger, nullable=False),
        sa.Column("pos", sa.BigInteger, nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("committed_us", sa.BigInteger, nullable=False),
        sa.Column("delivered", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_subscription_events"),
        sa.ForeignKeyConstraint(["sub_pk"], ["subscription_state.res_pk"], ondelete="CASCADE",
                                name="fk_subscription_events_sub_pk_subscription_state"),
        sa.UniqueConstraint("sub_pk", "event_number", name="uq_subscription_events_sub_pk_event_number"),
    )
    op.create_index("ix_subscription_events_pending", "subscription_events",
                    ["sub_pk", "delivered", "event_number"])


def _sync_tables() -> None:
    op.create_table(
        "sync_checkpoints",
        sa.Column("peer", sa.String(600), nullable=False),
        sa.Column("position", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("peer", name="pk_sync_checkpoints"),
    )
    op.create_table(
        "sync_links",
        sa.Column("peer", sa.String(512), nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("remote_id", sa.String(64), nullable=False),
        sa.Column("local_version", sa.Integer, nullable=False),
        sa.Column("remote_version", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("peer", "res_type", "res_id", name="pk_sync_links"),
    )


def upgrade() -> None:
    _tables()
    _sync_tables()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)
    # Versions written before this migration enter the log in sequence order (no writers yet).
    op.execute(
        f"INSERT INTO sync_changes ({_COLUMNS}) SELECT seq, res_type, res_id, version_id, deleted, 0 "
        "FROM resource_versions ORDER BY seq"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_sync_changes ON resource_versions")
        op.execute("DROP FUNCTION IF EXISTS fp_sync_record_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_sync_changes")
    op.drop_table("sync_links")
    op.drop_table("sync_checkpoints")
    op.drop_index("ix_subscription_events_pending", table_name="subscription_events")
    op.drop_table("subscription_events")
    op.drop_table("subscription_state")
    op.drop_index("ix_sync_changes_type_pos", table_name="sync_changes")
    op.drop_table("sync_changes")
