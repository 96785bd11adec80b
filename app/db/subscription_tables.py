"""Tables of subscriptions and sync: the commit-ordered change log, subscription state, events.

`sync_changes` is filled by a database trigger on `resource_versions` (migration 0004), so every
write path (single writes, bulk transaction inserts, imports) lands in it in the same transaction.
See docs/sync.md for why its `pos` is assigned in commit order.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigId


class ChangeRow(Base):
    """One committed version, numbered in commit order (`pos`), with its commit time."""

    __tablename__ = "sync_changes"
    __table_args__ = (Index("ix_sync_changes_type_pos", "res_type", "pos"),)

    pos: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    res_type: Mapped[str] = mapped_column(String(64))
    res_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean)
    committed_us: Mapped[int] = mapped_column(BigInteger)  # microseconds since the epoch, DB clock


class SubscriptionState(Base):
    """Delivery state of one Subscription resource (the resource itself stays in `resources`)."""

    __tablename__ = "subscription_state"

    res_pk: Mapped[int] = mapped_column(ForeignKey("resources.pk", ondelete="CASCADE"), primary_key=True)
    res_id: Mapped[str] = mapped_column(String(64), unique=True)
    owner: Mapped[str] = mapped_column(Text)  # the creator's actor identity (JSON)
    cursor_pos: Mapped[int] = mapped_column(BigInteger)  # changes up to here are fanned out
    next_event: Mapped[int] = mapped_column(BigInteger, default=1)
    fail_count: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)


class EventRow(Base):
    """One notification of one subscription, numbered per subscription (the outbox proper)."""

    __tablename__ = "subscription_events"
    __table_args__ = (
        UniqueConstraint("sub_pk", "event_number"),
        Index("ix_subscription_events_pending", "sub_pk", "delivered", "event_number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sub_pk: Mapped[int] = mapped_column(ForeignKey("subscription_state.res_pk", ondelete="CASCADE"))
    event_number: Mapped[int] = mapped_column(BigInteger)
    pos: Mapped[int] = mapped_column(BigInteger)
    res_type: Mapped[str] = mapped_column(String(64))
    res_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean)
    committed_us: Mapped[int] = mapped_column(BigInteger)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # delivered | withheld


class SyncCheckpoint(Base):
    """How far a push to a target, or a pull from a source, has got (resumable after a crash)."""

    __tablename__ = "sync_checkpoints"

    peer: Mapped[str] = mapped_column(String(600), primary_key=True)  # "push:<url>" or "pull:<url>"
    position: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))


class SyncLink(Base):
    """What was last exchanged with a peer for one resource, to detect two-sided changes."""

    __tablename__ = "sync_links"

    peer: Mapped[str] = mapped_column(String(512), primary_key=True)
    res_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    res_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # our id
    remote_id: Mapped[str] = mapped_column(String(64))
    local_version: Mapped[int] = mapped_column(Integer)
    remote_version: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))  # of the exchanged content without meta
