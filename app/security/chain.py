"""The audit log's hash chain: each link covers its position, its predecessor and its bytes."""

from __future__ import annotations

import hashlib

_DOMAIN = b"fellesplan-audit-v1\n"


def link_hash(seq: int, prev_hash: str, content: bytes) -> str:
    """sha256 over (domain, seq, previous hash, content): editing, moving or dropping breaks it."""
    h = hashlib.sha256(_DOMAIN)
    h.update(f"{seq}\n{prev_hash}\n".encode("ascii"))
    h.update(content)
    return h.hexdigest()
