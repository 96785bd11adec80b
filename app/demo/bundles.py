"""Transaction Bundles for the demo data: PUT with fixed ids, If-Match for later versions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from app.demo.patient import PatientData

Write = tuple[dict[str, Any], int]  # (resource, the version this write creates)


def transaction(writes: Iterable[Write]) -> dict[str, Any]:
    """A transaction Bundle of PUTs; a write of version n > 1 carries If-Match n-1."""
    entries = []
    for resource, version in writes:
        url = f"{resource['resourceType']}/{resource['id']}"
        request: dict[str, Any] = {"method": "PUT", "url": url}
        if version > 1:
            request["ifMatch"] = f'W/"{version - 1}"'
        entries.append({"fullUrl": url, "resource": resource, "request": request})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def patient_rounds(patients: list[PatientData]) -> list[list[Write]]:
    """A group's writes: every version 1 first, then one round per later version."""
    rounds: list[list[Write]] = [[(r, 1) for p in patients for r in p.resources]]
    depth = max((len(p.revisions) for p in patients), default=0)
    for k in range(depth):
        rounds.append([(r, k + 2) for p in patients if k < len(p.revisions) for r in p.revisions[k]])
    return rounds


def chunked(writes: list[Write], size: int) -> Iterator[list[Write]]:
    """Split a round into transactions of at most `size` entries."""
    for start in range(0, len(writes), size):
        yield writes[start : start + size]
