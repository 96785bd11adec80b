"""Verifying the audit chain: the first edited, deleted, reordered or re-indexed event."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.audit_tables import GENESIS
from app.repository import audit as repo
from app.security.balp import index_values
from app.security.chain import link_hash
from app.services.context import SYSTEM


@dataclass(frozen=True, slots=True)
class Break:
    """The first place the chain does not hold."""

    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class Report:
    """The result of a verification."""

    events: int
    head_seq: int
    broken: Break | None
    head_hash: str = ""

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        return self.broken is None


def _index_holds(content: bytes, stored: list[tuple[str, str]]) -> bool:
    """True when the search index rows are exactly those the content implies."""
    try:
        expected = set(index_values(orjson.loads(content)))
    except orjson.JSONDecodeError:
        return False
    return expected == {(p, v) for p, v in stored}


def parse_anchor(text: str) -> tuple[int, str]:
    """'<seq>:<hash>' as printed by `fellesplan audit verify` (exported elsewhere)."""
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ValueError("an anchor is '<seq>:<64 hex digits>'")
    return int(seq), digest.lower()


async def verify_chain(session: AsyncSession, anchor: tuple[int, str] | None = None) -> Report:
    """Walk the whole log in seq order and report the first broken link.

    An anchor (a head exported earlier) also catches a chain rebuilt from scratch, which a
    database-only attacker could otherwise make consistent again.
    """
    expected_seq, prev, count = 1, GENESIS, 0
    head_seq, head_hash = await repo.head(session, SYSTEM)
    if anchor is not None and anchor[0] > head_seq:
        return Report(0, head_seq, Break(anchor[0], "exported anchor is beyond the head "
                                                    "(log truncated)"))
    async for row, idx in repo.walk(session, SYSTEM):
        count += 1
        if anchor is not None and row.seq == anchor[0] and row.hash != anchor[1]:
            return Report(count, head_seq, Break(row.seq, "differs from the exported anchor"))
        if row.seq != expected_seq:
            return Report(count, head_seq, Break(expected_seq, "event missing (deleted)"))
        if row.prev_hash != prev:
            return Report(count, head_seq, Break(row.seq, "link to previous event broken "
                                                          "(deleted or reordered)"))
        if link_hash(row.seq, row.prev_hash, row.content) != row.hash:
            return Report(count, head_seq, Break(row.seq, "content or position altered"))
        if not _index_holds(row.content, idx):
            return Report(count, head_seq, Break(row.seq, "search index altered"))
        prev, expected_seq = row.hash, expected_seq + 1
    if head_seq != expected_seq - 1 or head_hash != prev:
        return Report(count, head_seq, Break(expected_seq, "log truncated: head does not match "
                                                           "the last event"))
    return Report(count, head_seq, None, head_hash)
