"""Expand ValueSets the server holds, for the token `:in`/`:not-in` modifiers.

Sources: the R4 copies in `app/data/r4/` (shared with validation), `app/data/no-basis/`, and
ValueSet/CodeSystem files under `profiles/`. Expansion covers enumerated concepts and
whole code systems; filters are not supported (a 400 says so).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.search.registry import DATA, PROFILES
from app.search.values import bad

MAX_CODES = 2000  # bounded bind parameters for one :in


def _bundle(path: Path) -> list[dict[str, Any]]:
    """Resources in a Bundle file, or []."""
    if not path.is_file():
        return []
    data = json.loads(path.read_bytes())
    return [e["resource"] for e in data.get("entry", [])]


@lru_cache(maxsize=1)
def _store() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(value sets, code systems) by canonical URL."""
    vs: dict[str, dict[str, Any]] = {}
    cs: dict[str, dict[str, Any]] = {}
    files = [DATA / "r4" / "value-sets.json", DATA / "r4" / "code-systems.json"]
    res = [r for f in files for r in _bundle(f)]
    for folder in (DATA / "no-basis", PROFILES):
        if folder.is_dir():
            res += [json.loads(p.read_bytes()) for p in sorted(folder.rglob("*.json"))]
    for r in res:
        if not isinstance(r, dict):
            continue
        if r.get("resourceType") == "ValueSet" and r.get("url"):
            vs[r["url"]] = r
        elif r.get("resourceType") == "CodeSystem" and r.get("url"):
            cs[r["url"]] = r
    return vs, cs


def _concepts(concepts: list[dict[str, Any]]) -> list[str]:
    """Codes of a (nested) concept list."""
    out: list[str] = []
    for c in concepts:
        out.append(c["code"])
        out += _concepts(c.get("concept", []))
    return out


def expand(name: str, url: str) -> list[tuple[str, str]]:
    """(system, code) pairs in the value set `url`; 400 when unknown or not expandable."""
    vs_by_url, cs_by_url = _store()
    vs = vs_by_url.get(url.split("|")[0])
    if vs is None:
        raise bad(name, f"unknown ValueSet '{url}'")
    out: list[tuple[str, str]] = []
    if "expansion" in vs:
        out = [(c["system"], c["code"]) for c in vs["expansion"].get("contains", [])]
    for inc in vs.get("compose", {}).get("include", []):
        system = inc.get("system")
        if inc.get("filter") or inc.get("valueSet") or not system:
            raise bad(name, f"ValueSet '{url}' needs a terminology server to expand")
        if "concept" in inc:
            out += [(system, c["code"]) for c in inc["concept"]]
        elif system in cs_by_url:
            out += [(system, c) for c in _concepts(cs_by_url[system].get("concept", []))]
        else:
            raise bad(name, f"code system '{system}' of ValueSet '{url}' is not held here")
    if len(out) > MAX_CODES:
        raise bad(name, f"ValueSet '{url}' has more than {MAX_CODES} codes")
    return sorted(set(out))
