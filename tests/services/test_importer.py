"""`fellesplan import` loads files and Bundles through the API's write path."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from app.db.engine import Database
from app.services.importer import run_import
from tests.factories.resources import patient, uid


async def test_import_files_and_collection_bundle(client: httpx.AsyncClient, db: Database,
                                                  tmp_path: Path) -> None:
    ids = [uid() for _ in range(3)]
    (tmp_path / "one.json").write_text(json.dumps(patient(id=ids[0])))
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": patient(id=i)} for i in ids[1:]]}
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bundle.json").write_text(json.dumps(bundle))
    (tmp_path / "bad.json").write_text('{"resourceType":"Patient","active":"yes"}')
    report = await run_import([tmp_path], db.settings)
    assert report.stored == 3
    assert len(report.failed) == 1 and "Patient.active" in report.failed[0]
    for i in ids:
        assert (await client.get(f"/fhir/Patient/{i}")).status_code == 200


async def test_import_transaction_bundle(client: httpx.AsyncClient, db: Database, tmp_path: Path) -> None:
    pid = uid()
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:9b0e7a1c-2f57-4f6b-9f43-1d1a3f0c9a11", "resource": patient(id=pid),
         "request": {"method": "PUT", "url": f"Patient/{pid}"}},
    ]}
    (tmp_path / "tx.json").write_text(json.dumps(bundle))
    report = await run_import([tmp_path / "tx.json"], db.settings)
    assert report.failed == [] and report.stored == 1
    assert (await client.get(f"/fhir/Patient/{pid}")).status_code == 200
