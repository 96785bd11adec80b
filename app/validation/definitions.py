"""Conformance resources the validator and the conformance router use, loaded once at start.

Sources: base R4 definitions (app/data/r4), HL7 Norway no-basis (app/data/no-basis) and
Fellesplan's own profiles (profiles/). Canonical URLs are the keys.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

DATA = Path(__file__).resolve().parent.parent / "data"
# profiles/ next to app/ in a checkout; in an installed wheel (Docker) it sits in the working dir.
PROFILES = Path(__file__).resolve().parent.parent.parent / "profiles"


def profiles_dir(configured: str = "") -> Path:
    """The profiles/ directory: configured, else the checkout's, else ./profiles."""
    if configured:
        return Path(configured)
    return PROFILES if PROFILES.is_dir() else Path.cwd() / "profiles"
CANONICAL_BASE = "https://fellesplan.no/fhir"
FHIR_SD = "http://hl7.org/fhir/StructureDefinition/"
CONFORMANCE_TYPES = ("StructureDefinition", "ValueSet", "CodeSystem", "SearchParameter")


def _read(path: Path) -> Any:
    """Parse one JSON file."""
    return orjson.loads(path.read_bytes())


def _bundle_resources(path: Path) -> list[dict[str, Any]]:
    """The resources of a collection Bundle file."""
    return [e["resource"] for e in _read(path).get("entry", [])]


@dataclass
class Definitions:
    """All conformance resources by canonical URL, and which of them are published."""

    structures: dict[str, dict[str, Any]] = field(default_factory=dict)
    value_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    code_systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    search_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    questionnaires: list[dict[str, Any]] = field(default_factory=list)
    # Resources served read-only at /fhir/<type> (ours and no-basis).
    published: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, res: dict[str, Any], *, publish: bool) -> None:
        """Register one conformance resource."""
        kind, url = res.get("resourceType"), res.get("url", "")
        target = {
            "StructureDefinition": self.structures,
            "ValueSet": self.value_sets,
            "CodeSystem": self.code_systems,
            "SearchParameter": self.search_parameters,
        }.get(str(kind))
        if kind == "Questionnaire":
            self.questionnaires.append(res)
        elif target is None:
            return
        else:
            target[url] = res
        if publish and kind in CONFORMANCE_TYPES:
            self.published.setdefault(str(kind), []).append(res)

    def structure(self, url: str) -> dict[str, Any] | None:
        """A StructureDefinition by canonical (a version suffix |x is ignored)."""
        return self.structures.get(url.split("|", 1)[0])

    def type_definition(self, type_code: str) -> dict[str, Any] | None:
        """The base StructureDefinition of a data or resource type."""
        return self.structures.get(FHIR_SD + type_code)


def load_definitions(profiles: Path | None = None) -> Definitions:
    """Load base R4, no-basis and Fellesplan profiles (snapshots are generated later)."""
    defs = Definitions()
    for name in ("structure-definitions", "value-sets", "code-systems"):
        for res in _bundle_resources(DATA / "r4" / f"{name}.json"):
            defs.add(res, publish=False)
    for path in sorted((DATA / "no-basis").glob("*.json")):
        defs.add(_read(path), publish=True)
    root = profiles or profiles_dir()
    for sub in ("", "codesystems", "valuesets", "structuredefinitions", "searchparameters",
                "questionnaires"):
        folder = root / sub if sub else root
        for path in sorted(folder.glob("*.json")):
            res = _read(path)
            if isinstance(res, dict) and "resourceType" in res:
                defs.add(res, publish=True)
    return defs


def clone(res: dict[str, Any]) -> dict[str, Any]:
    """A deep copy, so callers can never mutate the registry."""
    return copy.deepcopy(res)
