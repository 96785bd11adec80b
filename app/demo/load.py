"""Load the demo data through the normal write path (ResourceService as SYSTEM), idempotently."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.config import Settings
from app.db.engine import Database
from app.demo.bundles import Write, patient_rounds
from app.demo.generator import DemoSet
from app.fhir.errors import Gone, NotFound
from app.services.context import SYSTEM
from app.services.crud import ResourceService

_PATIENTS_PER_TX = 25


@dataclass(slots=True)
class LoadReport:
    """What a load wrote and what was already there."""

    written: int = 0
    skipped: int = 0


async def _current_version(service: ResourceService, res_type: str, res_id: str) -> int:
    """The current version number, 0 when the resource does not exist."""
    try:
        row = await service.read(res_type, res_id)
    except NotFound:
        return 0
    except Gone:
        return -1  # deleted: write again, unconditionally
    return row.version_id


async def _put(service: ResourceService, write: Write, report: LoadReport) -> None:
    """Write one version unless the database already has it (or a later one)."""
    resource, version = write
    res_type, res_id = resource["resourceType"], resource["id"]
    current = await _current_version(service, res_type, res_id)
    if current >= version:
        report.skipped += 1
        return
    await service.update(res_type, res_id, dict(resource), if_match=current if current > 0 else None)
    report.written += 1


async def _write_all(db: Database, settings: Settings, writes: list[Write], report: LoadReport) -> None:
    """Write a list in one transaction."""
    async with db.session(write=True) as session:
        service = ResourceService(session, SYSTEM, settings)
        for write in writes:
            await _put(service, write, report)


async def load_demo(
    settings: Settings, data: DemoSet, progress: Callable[[int], None] | None = None
) -> LoadReport:
    """Write the directory, then the patients in groups, each version in its own round."""
    db = Database(settings)
    report = LoadReport()
    try:
        await _write_all(db, settings, [(r, 1) for r in data.directory()], report)
        for start in range(0, data.patients, _PATIENTS_PER_TX):
            group = list(data.iter_patients(start, min(start + _PATIENTS_PER_TX, data.patients)))
            for writes in patient_rounds(group):
                await _write_all(db, settings, writes, report)
            if progress:
                progress(len(group))
    finally:
        await db.dispose()
    return report
