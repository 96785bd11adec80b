"""What the scenarios ask for: sampled patients and plans by their server ids, written to files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from app.demo import codes as C
from app.demo.generator import DemoSet, sample_ids
from app.demo.patient import PatientData

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
_OPTIONAL = ("QuestionnaireResponse", "Consent", "RelatedPerson", "Goal")


@dataclass
class Targets:
    """Files for the wrk scripts (paths, bodies, update pools) in one work directory."""

    workdir: Path
    files: dict[str, Path] = field(default_factory=dict)
    token: str = ""  # a development token for the auth scenarios
    writer_patient: str = ""  # server id of the patient the write scenarios write for

    def path(self, name: str) -> str:
        """A file's path as a wrk script argument."""
        return str(self.files[name])


def _rewrite(resource: dict[str, Any], ids: dict[str, str]) -> bytes:
    """Serialise with the generator's ids replaced by the server's."""
    body = orjson.dumps(resource)
    for local in {v for v in ids if local_in(body, v)}:
        body = body.replace(local.encode(), ids[local].encode())
    return body


def local_in(body: bytes, local: str) -> bool:
    """True when an id occurs in a body."""
    return local.encode() in body


def _server(ids: dict[str, str], local: str) -> str:
    """The server id of a generator id (PUT loads keep the generator's ids)."""
    return ids.get(local, local)


def _final_plans(p: PatientData) -> list[dict[str, Any]]:
    """The latest version of each plan, and the version number it has on the server."""
    latest = {r["id"]: (r, 1) for r in p.resources if r["resourceType"] == "CarePlan"}
    for k, rnd in enumerate(p.revisions):
        for r in rnd:
            latest[r["id"]] = (r, k + 2)
    return [{"resource": r, "version": v} for r, v in latest.values()]


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build(data: DemoSet, ids: dict[str, str], workdir: Path, since: str, sample: int = 400) -> Targets:
    """Write every scenario's input files for a loaded data set."""
    t = Targets(workdir)
    pats = sample_ids(data, sample + 1)
    writer, pats = pats[-1], pats[:-1]  # creates go to a patient the reads never ask for
    krise = [_server(ids, p.plan_ids[0]) for p in pats]
    pids = [_server(ids, p.patient_id) for p in pats]
    w = workdir
    t.files["read"] = _lines(w / "read.txt", [f"/fhir/CarePlan/{k}" for k in krise])
    t.files["vread"] = _lines(w / "vread.txt", [f"/fhir/CarePlan/{k}/_history/1" for k in krise])
    t.files["search"] = _lines(
        w / "search.txt",
        [_search_path(pid) for pid in pids],
    )
    t.files["chain"] = _lines(
        w / "chain.txt",
        [
            f"/fhir/CarePlan?patient.identifier={quote(FNR + '|' + p.fnr, safe=':')}&category={C.KRISEPLAN}"
            for p in pats
        ],
    )
    t.files["history"] = _lines(
        w / "history.txt", [f"/fhir/CarePlan/_history?_since={quote(since, safe='')}&_count=20"]
    )
    create = dict(_final_plans(writer)[0]["resource"])
    create.pop("id")
    (w / "create.json").write_bytes(_rewrite(create, ids))
    t.writer_patient = _server(ids, writer.patient_id)
    t.files["create"] = w / "create.json"
    (w / "tx10.json").write_bytes(_tx10(data, pats))
    t.files["tx10"] = w / "tx10.json"
    t.files["update_src"] = _update_pool(w / "update_src.txt", pats, ids)
    region0 = [p for p in pats if p.index % data.n_regions == 0]
    t.files["auth_read"] = _lines(
        w / "auth_read.txt",
        [f"/fhir/CarePlan/{_server(ids, p.plan_ids[0])}" for p in region0] or ["/fhir/metadata"],
    )
    t.files["auth_search"] = _lines(  # the `search` scenario's query, for the token's patients
        w / "auth_search.txt",
        [_search_path(_server(ids, p.patient_id)) for p in region0] or ["/fhir/metadata"],
    )
    return t


def _search_path(patient: str) -> str:
    """The patient+category search with the care team included (issue 5's search scenario)."""
    return f"/fhir/CarePlan?patient={patient}&category={C.KRISEPLAN}&_include=CarePlan:care-team"


def _update_pool(path: Path, pats: list[PatientData], ids: dict[str, str]) -> Path:
    """Lines "CarePlan/<id> <version> <body with __N__>" for the If-Match update script."""
    lines = []
    for p in pats:
        plan = _final_plans(p)[0]
        res = dict(plan["resource"])
        res["note"] = [*res.get("note", []), {"text": "Oppdatert i ytelsestest __N__."}]
        body = _rewrite(res, ids).decode()
        lines.append(f"CarePlan/{_server(ids, res['id'])} {plan['version']} {body}")
    return _lines(path, lines)


def _tx10(data: DemoSet, pats: list[PatientData]) -> bytes:
    """A transaction of exactly 10 POST entries: a new patient with team, plans and consent."""
    for p in pats:
        chosen = list(p.resources)
        for kind in _OPTIONAL:
            while len(chosen) > 10 and _droppable(chosen, kind):
                chosen.remove(_droppable(chosen, kind))  # type: ignore[arg-type]
        if len(chosen) == 10:
            return _as_posts(chosen)
    raise RuntimeError("no sampled patient gives a 10-entry transaction")


def _droppable(chosen: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    """A resource of `kind` that no other chosen resource refers to."""
    blob = orjson.dumps(chosen)
    for r in chosen:
        if r["resourceType"] == kind and blob.count(r["id"].encode()) == 1:
            return r
    return None


def _as_posts(resources: list[dict[str, Any]]) -> bytes:
    """POST entries with urn:uuid fullUrls (references inside the bundle rewritten)."""
    entries = [
        {
            "fullUrl": f"urn:uuid:{r['id']}",
            "resource": {k: v for k, v in r.items() if k != "id"},
            "request": {"method": "POST", "url": r["resourceType"]},
        }
        for r in resources
    ]
    body = orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    for r in resources:
        body = body.replace(f'"{r["resourceType"]}/{r["id"]}"'.encode(), f'"urn:uuid:{r["id"]}"'.encode())
    return body
