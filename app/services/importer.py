"""`fellesplan import`: load FHIR JSON files and Bundles through the same write path as the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from app.config import Settings
from app.db.engine import Database
from app.fhir.errors import FhirError
from app.fhir.json import loads
from app.fhir.parse import check_structure
from app.services.bundles import BundleService
from app.services.context import SYSTEM
from app.services.crud import ResourceService

_CHUNK = 200


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    stored: int = 0
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the terminal."""
        text = f"Imported {self.stored} resource(s); {len(self.failed)} failed."
        return "\n".join([text, *self.failed[:50]])


def _files(paths: list[Path]) -> list[Path]:
    """Every .json file named or below the named directories, sorted."""
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.rglob("*.json")) if p.is_dir() else [p])
    return out


def _items(path: Path, settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, document) pairs: a transaction/batch Bundle whole, other Bundles entry by entry."""
    doc = loads(path.read_bytes(), max_depth=settings.max_json_depth)
    if not isinstance(doc, dict):
        raise FhirError(f"{path}: not a FHIR JSON object")
    if doc.get("resourceType") == "Bundle" and doc.get("type") not in ("transaction", "batch"):
        for i, entry in enumerate(doc.get("entry") or []):
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                yield f"{path}#entry[{i}]", entry["resource"]
        return
    yield str(path), doc


async def _store(db: Database, settings: Settings, batch: list[tuple[str, dict[str, Any]]],
                 report: ImportReport) -> None:
    """Store a chunk in one transaction; on failure, retry one by one to isolate bad items."""
    stored = 0
    try:
        async with db.session(write=True) as session:
            for _, doc in batch:
                stored += await _store_one(session, settings, doc)
        report.stored += stored  # counted only once the chunk has committed
    except FhirError:
        if len(batch) == 1:
            raise
        for item in batch:
            try:
                await _store(db, settings, [item], report)
            except FhirError as exc:
                report.failed.append(f"{item[0]}: {exc.diagnostics}")


async def _store_one(session: Any, settings: Settings, doc: dict[str, Any]) -> int:
    """Store one resource or process one transaction/batch Bundle; returns resources written."""
    if doc.get("resourceType") == "Bundle":
        return await BundleService(session, SYSTEM, settings).process_for_import(doc)
    rtype = str(doc.get("resourceType"))
    check_structure(rtype, doc)
    service = ResourceService(session, SYSTEM, settings)
    if doc.get("id"):
        await service.update(rtype, str(doc["id"]), doc)
    else:
        await service.create(rtype, doc)
    return 1


async def run_import(paths: list[Path], settings: Settings, *, progress: bool = False) -> ImportReport:
    """Import files; a bar shows progress on long imports."""
    db = Database(settings)
    report = ImportReport()
    try:
        files = _files(paths)
        batch: list[tuple[str, dict[str, Any]]] = []
        for path in tqdm(files, disable=not progress or len(files) < 20, unit="file"):
            try:
                batch.extend(_items(path, settings))
            except FhirError as exc:
                report.failed.append(f"{path}: {exc.diagnostics}")
            if len(batch) >= _CHUNK:
                await _store(db, settings, batch, report)
                batch = []
        if batch:
            await _store(db, settings, batch, report)
    finally:
        await db.dispose()
    return report
