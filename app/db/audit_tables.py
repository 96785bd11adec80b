"""The audit log: a hash-chained table of AuditEvents, its search index and the chain head.

`seq` is gapless (assigned under the chain-head lock), so a deleted row shows as a gap; each
row's `hash` covers its seq, the previous hash and its exact content bytes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigId

GENESIS = "0" * 64
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


class AuditEventRow(Base):
    """One AuditEvent, exactly as served, chained to its predecessor."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_recorded", "recorded", "seq"),)

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    recorded: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditIndexRow(Base):
    """Search values of an event: `patient` (Patient/<id>) and `agent` (HPR, pid, orgnr)."""

    __tablename__ = "audit_event_index"
    __table_args__ = (
        Index("ix_audit_event_index_value", "param", "value", "seq"),
        Index("ix_audit_event_index_seq", "seq"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(ForeignKey("audit_events.seq", ondelete="CASCADE"))
    param: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128))


class AuditChainHead(Base):
    """The single row holding the last seq and hash; locked to append, checked to verify."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(_SEQ)
    hash: Mapped[str] = mapped_column(String(64))
