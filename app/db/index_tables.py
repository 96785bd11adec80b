"""Typed search index tables: one row per extracted value, describing the current version only.

Every table carries (res_type, param) first in its composite indexes, so a search criterion is an
index range scan; `res_pk` ends each index so semi-joins can be answered from the index alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigId
from app.db.tables import ResourceRow

_FK = "resources.pk"
# Folded strings compare byte-wise on PostgreSQL too, so prefix ranges are index range scans.
Folded = String(200).with_variant(String(200, collation="C"), "postgresql")
Uri = String(512).with_variant(String(512, collation="C"), "postgresql")

# Default search order is insertion order (pk), stable while other clients update resources.
Index("ix_resources_search_type_pk", ResourceRow.res_type, ResourceRow.pk)


class TokenIndex(Base):
    """token: system|code (Coding, Identifier, ContactPoint, code, boolean), with display text."""

    __tablename__ = "search_token"
    __table_args__ = (
        Index("ix_search_token_value", "res_type", "param", "value", "system", "res_pk"),
        Index("ix_search_token_pk", "res_pk", "param"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = mapped_column(ForeignKey(_FK, ondelete="CASCADE"))
    res_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(128))
    system: Mapped[str | None] = mapped_column(String(512), nullable=True)
    value: Mapped[str | None] = mapped_column(String(512), nullable=True)
    text: Mapped[str | None] = mapped_column(Folded, nullable=True)


class StringIndex(Base):
    """string: `norm` is case/accent folded (prefix search), `exact` the original text."""

    __tablename__ = "search_string"
    __table_args__ = (
        Index("ix_search_string_norm", "res_type", "param", "norm", "res_pk"),
        Index("ix_search_string_pk", "res_pk", "param"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = mapped_column(ForeignKey(_FK, ondelete="CASCADE"))
    res_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(128))
    norm: Mapped[str] = mapped_column(Folded)
    exact: Mapped[str] = mapped_column(Text)


class DateIndex(Base):
    """date: an inclusive naive-UTC range [lo, hi] from the value's precision or Period."""

    __tablename__ = "search_date"
    __table_args__ = (
        Index("ix_search_date_lo", "res_type", "param", "lo", "hi", "res_pk"),
        Index("ix_search_date_hi", "res_type", "param", "hi", "res_pk"),
        Index("ix_search_date_pk", "res_pk", "param"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = mapped_column(ForeignKey(_FK, ondelete="CASCADE"))
    res_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(128))
    lo: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))
    hi: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))


class ReferenceIndex(Base):
    """reference: a local target (type, id), or an absolute/canonical `url` for other targets."""

    __tablename__ = "search_reference"
    __table_args__ = (
        Index(
            "ix_search_reference_target", "res_type", "param", "target_type", "target_id", "res_pk"
        ),
        Index("ix_search_reference_rev", "target_type", "target_id", "res_type", "param"),
        Index("ix_search_reference_url", "res_type", "param", "url"),
        Index("ix_search_reference_pk", "res_pk", "param"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = mapped_column(ForeignKey(_FK, ondelete="CASCADE"))
    res_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(128))
    target_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    url: Mapped[str | None] = mapped_column(Uri, nullable=True)


class UriIndex(Base):
    """uri: the exact URI (:below/:above are prefix comparisons)."""

    __tablename__ = "search_uri"
    __table_args__ = (
        Index("ix_search_uri_value", "res_type", "param", "value", "res_pk"),
        Index("ix_search_uri_pk", "res_pk", "param"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = mapped_column(ForeignKey(_FK, ondelete="CASCADE"))
    res_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(Uri)


class QuantityIndex(Base):
    """number and quantity: [lo, hi] (equal for a single value; a Range's bounds otherwise)."""

    __tablename__ = "search_quantity"
    __table_args__ = (
        Index("ix_search_quantity_value", "res_type", "param", "lo", "hi", "res_pk"),
        Index("ix_search_quantity_pk", "res_pk", "param"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = mapped_column(ForeignKey(_FK, ondelete="CASCADE"))
    res_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(128))
    system: Mapped[str | None] = mapped_column(String(512), nullable=True)
    code: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lo: Mapped[float | None] = mapped_column(Float, nullable=True)
    hi: Mapped[float | None] = mapped_column(Float, nullable=True)


class CompositeIndex(Base):
    """composite: a token first component with a token or quantity second component."""

    __tablename__ = "search_composite"
    __table_args__ = (
        Index("ix_search_composite_c1", "res_type", "param", "c1_code", "res_pk"),
        Index("ix_search_composite_pk", "res_pk", "param"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    res_pk: Mapped[int] = mapped_column(ForeignKey(_FK, ondelete="CASCADE"))
    res_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(128))
    c1_system: Mapped[str | None] = mapped_column(String(512), nullable=True)
    c1_code: Mapped[str | None] = mapped_column(String(512), nullable=True)
    c2_system: Mapped[str | None] = mapped_column(String(512), nullable=True)
    c2_code: Mapped[str | None] = mapped_column(String(512), nullable=True)
    c2_lo: Mapped[float | None] = mapped_column(Float, nullable=True)
    c2_hi: Mapped[float | None] = mapped_column(Float, nullable=True)


INDEX_TABLES = (TokenIndex, StringIndex, DateIndex, ReferenceIndex, UriIndex, QuantityIndex,
                CompositeIndex)
# Where rows of each index kind live (the kinds extraction writes).
TABLE_OF: dict[str, Any] = {  # Any: callers use the mapped columns and __table__
    "token": TokenIndex, "string": StringIndex, "date": DateIndex, "reference": ReferenceIndex,
    "uri": UriIndex, "quantity": QuantityIndex, "composite": CompositeIndex,
}
# SearchParameter types that share another kind's table: numbers are stored as quantities.
KIND_OF_TYPE: dict[str, str] = {"number": "quantity"}


def table_for_type(param_type: str) -> Any:
    """The index table of a SearchParameter type."""
    return TABLE_OF[KIND_OF_TYPE.get(param_type, param_type)]
