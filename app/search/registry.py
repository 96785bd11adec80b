"""Search parameter definitions, loaded from the spec copy and Fellesplan's profiles.

Parameters are driven by their SearchParameter resources
(https://hl7.org/fhir/R4/searchparameter.html): each one's FHIRPath `expression` is compiled
once per base type. A SearchParameter JSON file (`SearchParameter-*.json` anywhere under
`profiles/`) works after a restart and `fellesplan reindex`, without code.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.fhir.models import SERVED_TYPES
from app.search.fhirpath import Extractor, compile_or_fallback, split_top

log = logging.getLogger("fellesplan.search")
DATA = Path(__file__).resolve().parent.parent / "data"
PROFILES = Path(__file__).resolve().parent.parent.parent / "profiles"

# Parameters handled by the query engine itself rather than by index rows.
RESULT_PARAMS = frozenset({
    "_sort", "_count", "_include", "_revinclude", "_summary", "_elements", "_total",
    "_format", "_pretty", "_cursor", "_contained", "_containedType", "_type",
})
# Spec parameters we deliberately do not index (no expression, or not in scope).
UNSUPPORTED = frozenset({"_content", "_text", "_query", "_filter", "_list", "_language"})


@dataclass(frozen=True, slots=True)
class SearchParamDef:
    """One search parameter as it applies to one resource type."""

    code: str
    type: str
    url: str
    documentation: str
    expression: str
    targets: tuple[str, ...] = ()
    components: tuple[tuple[str, str], ...] = ()  # (definition url, expression)
    code_system: str | None = None  # implicit system of a bound `code` element (gender, status)
    extract: Extractor = field(default=lambda _r: [], compare=False, repr=False)

    @property
    def name(self) -> str:
        """The parameter name as used in URLs (the SearchParameter `code`)."""
        return self.code


@dataclass(slots=True)
class Registry:
    """Every search parameter per served type, by code and by canonical URL."""

    by_type: dict[str, dict[str, SearchParamDef]] = field(default_factory=dict)
    by_url: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, res_type: str, code: str) -> SearchParamDef | None:
        """The parameter `code` on `res_type`, or None."""
        return self.by_type.get(res_type, {}).get(code)

    def params(self, res_type: str) -> list[SearchParamDef]:
        """All parameters of a type, sorted by code."""
        return sorted(self.by_type.get(res_type, {}).values(), key=lambda p: p.code)


def _definitions() -> list[dict[str, Any]]:
    """SearchParameter resources: the spec copy, then profiles (which may override)."""
    bundle = json.loads((DATA / "search-parameters.json").read_bytes())
    defs = [e["resource"] for e in bundle["entry"]]
    if PROFILES.is_dir():
        for path in sorted(PROFILES.rglob("SearchParameter-*.json")):
            res = json.loads(path.read_bytes())
            if res.get("resourceType") == "SearchParameter" and res.get("status") != "retired":
                defs.append(res)
    return defs


def _bases(sp: dict[str, Any]) -> list[str]:
    """Served types this parameter applies to (Resource/DomainResource mean all)."""
    bases = sp.get("base", [])
    if "Resource" in bases or "DomainResource" in bases:
        return list(SERVED_TYPES)
    return [b for b in bases if b in SERVED_TYPES]


def _make(sp: dict[str, Any], res_type: str) -> SearchParamDef | None:
    """Compile one definition for one type; None when it has nothing to extract."""
    expr = sp.get("expression") or ""
    if sp["code"] in UNSUPPORTED or sp["type"] == "special" or not expr:
        return None
    try:
        extract = compile_or_fallback(expr, res_type)
    except Exception:  # a broken profile definition must not stop the server; say which
        log.error("search: cannot compile %s (%s): %r", sp.get("url"), res_type, expr,
                  exc_info=True)
        return None
    comps = tuple((c["definition"], c["expression"]) for c in sp.get("component", []))
    system = _implicit_system(expr, res_type) if sp["type"] == "token" else None
    return SearchParamDef(
        code=sp["code"], type=sp["type"], url=sp.get("url", ""),
        documentation=_doc_for(sp.get("description", ""), res_type), expression=expr,
        targets=tuple(sp.get("target", [])), components=comps, extract=extract,
        code_system=system,
    )


@lru_cache(maxsize=1)
def _code_systems() -> dict[str, str]:
    """Element path -> code system of its required binding (from the R4 definitions)."""
    data: dict[str, str] = json.loads((DATA / "search-code-systems.json").read_bytes())
    return data


def _implicit_system(expr: str, res_type: str) -> str | None:
    """The implicit system of a `code`-typed parameter (https://hl7.org/fhir/R4/search.html#token)."""
    for part in split_top(expr, "|"):
        path = part.strip().strip("()")
        if path.startswith(res_type + ".") and path in _code_systems():
            return _code_systems()[path]
    return None


def _doc_for(description: str, res_type: str) -> str:
    """The line of a multi-resource description that concerns `res_type`."""
    marker = f"* [{res_type}]("
    for line in description.splitlines():
        if line.startswith(marker) and "): " in line:
            return line.split("): ", 1)[1].strip()
    return description.strip()


def build_registry(defs: list[dict[str, Any]]) -> Registry:
    """Compile definitions into a registry."""
    reg = Registry()
    for sp in defs:
        reg.by_url[sp.get("url", sp["code"])] = sp
        for res_type in _bases(sp):
            made = _make(sp, res_type)
            if made is not None:
                reg.by_type.setdefault(res_type, {})[made.code] = made
    return reg


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The process-wide registry, built once at start."""
    return build_registry(_definitions())


def search_params_for(res_type: str) -> list[SearchParamDef]:
    """Parameters for the CapabilityStatement (name, type, definition url, documentation)."""
    return registry().params(res_type)


def component_type(url: str) -> str | None:
    """The type of a composite's component parameter, by canonical URL."""
    sp = registry().by_url.get(url)
    return None if sp is None else str(sp["type"])
