"""Core storage: current resources, every version, and the global change sequence.

The stored `content` is the exact JSON served for that version (design rule 6).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigId


class ResourceRow(Base):
    """The current version of every resource, deleted ones included (for 410)."""

    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("res_type", "res_id"),
        Index("ix_resources_type_updated", "res_type", "last_updated", "pk"),
    )

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_type: Mapped[str] = mapped_column(String(64))
    res_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class VersionRow(Base):
    """Every version ever written; `seq` is the global, monotonic change sequence."""

    __tablename__ = "resource_versions"
    __table_args__ = (
        UniqueConstraint("res_pk", "version_id"),
        Index("ix_resource_versions_type_seq", "res_type", "seq"),
        Index("ix_resource_versions_updated", "last_updated"),
        Index("ix_resource_versions_type_id_version", "res_type", "res_id", "version_id"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = mapped_column(ForeignKey("resources.pk", ondelete="CASCADE"))
    res_type: Mapped[str] = mapped_column(String(64))
    res_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))
    method: Mapped[str] = mapped_column(String(8))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
