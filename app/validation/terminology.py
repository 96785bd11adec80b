"""Code membership in the ValueSets and CodeSystems the server holds (no external server).

A ValueSet that includes something we cannot evaluate (an unknown CodeSystem, a filter, an
unknown ValueSet) answers "unknown" for codes of that part, never a false "not in the set".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from app.validation.definitions import Definitions

Membership = Literal["ok", "bad", "unknown"]


@dataclass
class Expansion:
    """A ValueSet as system -> codes; systems in `open_systems` cannot be enumerated."""

    codes: dict[str, set[str]] = field(default_factory=dict)
    open_systems: set[str] = field(default_factory=set)
    incomplete: bool = False  # some include could not be evaluated at all

    def check(self, system: str | None, code: str) -> Membership:
        """Is (system, code) in the set? A missing system checks the code alone (type code)."""
        if system is None:
            if any(code in codes for codes in self.codes.values()):
                return "ok"
            return "unknown" if (self.open_systems or self.incomplete) else "bad"
        if system in self.open_systems:
            return "unknown"
        if system in self.codes:
            return "ok" if code in self.codes[system] else "bad"
        return "unknown" if self.incomplete else "bad"


class Terminology:
    """ValueSet expansions computed once per ValueSet and cached."""

    def __init__(self, defs: Definitions) -> None:
        self.defs = defs
        self._cache: dict[str, Expansion | None] = {}
        self._cs_codes: dict[str, set[str] | None] = {}

    def code_system_codes(self, system: str) -> set[str] | None:
        """All codes of a complete CodeSystem we hold, else None."""
        if system not in self._cs_codes:
            cs = self.defs.code_systems.get(system)
            ok = cs is not None and cs.get("content", "complete") == "complete"
            self._cs_codes[system] = _flatten(cs.get("concept", [])) if ok and cs else None
        return self._cs_codes[system]

    def expansion(self, url: str) -> Expansion | None:
        """The expansion of a ValueSet, or None when we do not hold it."""
        url = url.split("|", 1)[0]
        if url not in self._cache:
            self._cache[url] = None  # guards against include cycles
            vs = self.defs.value_sets.get(url)
            self._cache[url] = self._expand(vs) if vs is not None else None
        return self._cache[url]

    def check(self, url: str, system: str | None, code: str) -> Membership:
        """Membership of a code in a ValueSet; unknown when the ValueSet is not held."""
        exp = self.expansion(url)
        return "unknown" if exp is None else exp.check(system, code)

    def _filtered(self, system: str, filters: list[dict[str, Any]]) -> set[str] | None:
        """Codes selected by is-a / descendent-of filters on a held CodeSystem, else None."""
        cs = self.defs.code_systems.get(system)
        if cs is None or self.code_system_codes(system) is None:
            return None
        result: set[str] | None = None
        for f in filters:
            if f.get("property") != "concept" or f.get("op") not in ("is-a", "descendent-of"):
                return None
            sub = _subtree(cs.get("concept", []), str(f.get("value")))
            if sub is None:
                return None
            if f["op"] == "descendent-of":
                sub.discard(str(f.get("value")))
            result = sub if result is None else result & sub
        return result

    def _expand(self, vs: dict[str, Any]) -> Expansion:
        """Evaluate compose.include minus compose.exclude."""
        exp = Expansion()
        compose = vs.get("compose", {})
        for inc in compose.get("include", []):
            self._include(exp, inc)
        for exc in compose.get("exclude", []):
            system = exc.get("system")
            if system in exp.codes and exc.get("concept"):
                exp.codes[system] -= {c["code"] for c in exc["concept"]}
        return exp

    def _include(self, exp: Expansion, inc: dict[str, Any]) -> None:
        """Add one include: explicit concepts, a whole CodeSystem, or other ValueSets."""
        for other in inc.get("valueSet", []):
            sub = self.expansion(other)
            if sub is None:
                exp.incomplete = True
                continue
            for sub_system, codes in sub.codes.items():
                exp.codes.setdefault(sub_system, set()).update(codes)
            exp.open_systems |= sub.open_systems
            exp.incomplete |= sub.incomplete
        system = inc.get("system")
        if not isinstance(system, str):
            return
        selected: set[str] | None
        if inc.get("concept"):
            selected = {c["code"] for c in inc["concept"]}
        elif inc.get("filter"):
            selected = self._filtered(system, inc["filter"])  # None: a filter we do not evaluate
        else:
            selected = self.code_system_codes(system)
        if selected is None:
            exp.open_systems.add(system)
        else:
            exp.codes.setdefault(system, set()).update(selected)


def _subtree(concepts: list[dict[str, Any]], code: str) -> set[str] | None:
    """The code and all its descendants in a nested concept list, or None if absent."""
    stack = list(concepts)
    while stack:
        c = stack.pop()
        if c["code"] == code:
            return _flatten([c])
        stack.extend(c.get("concept", []))
    return None


def _flatten(concepts: list[dict[str, Any]]) -> set[str]:
    """Every code in a (possibly nested) concept list."""
    out: set[str] = set()
    stack = list(concepts)
    while stack:
        c = stack.pop()
        out.add(c["code"])
        stack.extend(c.get("concept", []))
    return out
