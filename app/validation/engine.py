"""The validation engine: which profiles apply to a resource, and the issues against each.

Profiles that apply on write: the base type, every meta.profile the resource claims, and the
mandatory profiles whose criterion matches (profiles/mandatory-profiles.json).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from app.fhir.errors import Issue, Severity
from app.validation import fastpath
from app.validation.definitions import CANONICAL_BASE, FHIR_SD, load_definitions, profiles_dir
from app.validation.invariants import InvariantSettings, evaluate_parsed, parse_fhirpath
from app.validation.registry import TreeRegistry
from app.validation.validator import Validator


@dataclass(frozen=True, slots=True)
class MandatoryRule:
    """A profile every resource of a type matching a FHIRPath criterion must conform to."""

    resource_type: str
    when: str
    profile: str
    parsed: Any
    fast: fastpath.Fn | None

    def applies(self, resource: dict[str, Any]) -> bool:
        """True when the criterion holds for the resource."""
        env = {"resource": resource, "rootResource": resource, "context": resource}
        if self.fast is not None:
            try:
                return self.fast([resource], env) == [True]
            except Exception:  # several items where one was expected: fhirpathpy decides
                pass
        return evaluate_parsed(self.parsed, resource, self.resource_type, env) == [True]


def load_rules(path: Path) -> list[MandatoryRule]:
    """Read and compile the mandatory-profile rules."""
    data = orjson.loads(path.read_bytes())
    rules = []
    for r in data.get("rules", []):
        parsed = parse_fhirpath(r["when"])
        try:
            fast: fastpath.Fn | None = fastpath.compile_ast(parsed)
        except fastpath.Unsupported:
            fast = None
        rules.append(MandatoryRule(r["resourceType"], r["when"], r["profile"], parsed, fast))
    return rules


class Engine:
    """Definitions, compiled trees and rules, built once per process."""

    def __init__(self, fnr_rule: str = "both", rules_file: str = "", profiles: str = "") -> None:
        root = profiles_dir(profiles)
        if not root.is_dir():
            raise FileNotFoundError(f"profiles directory not found: {root}")
        self.defs = load_definitions(root)
        self.trees = TreeRegistry(self.defs)
        self.validator = Validator(self.trees, InvariantSettings(fnr_rule))  # type: ignore[arg-type]
        self.rules = load_rules(Path(rules_file) if rules_file else root / "mandatory-profiles.json")
        for rule in self.rules:
            self.trees.tree(rule.profile)  # a rule naming an unknown profile fails at start

    def warm_up(self, types: tuple[str, ...]) -> None:
        """Compile every profile we publish and the base trees of the served types."""
        for sd in self.defs.published.get("StructureDefinition", []):
            self.trees.tree(sd["url"])  # ours and no-basis
        for t in types:
            self.trees.tree(FHIR_SD + t)

    def profiles_for(self, resource: dict[str, Any], *, strict_claims: bool) -> tuple[
        list[str], list[Issue]
    ]:
        """Profile URLs to check (claimed + mandatory) and issues about the claims themselves."""
        rtype = str(resource.get("resourceType"))
        urls: list[str] = []
        issues: list[Issue] = []
        for i, url in enumerate(resource.get("meta", {}).get("profile", [])):
            where = (f"{rtype}.meta.profile[{i}]",)
            sd = self.defs.structure(url) if isinstance(url, str) else None
            if sd is None:
                ours = isinstance(url, str) and url.startswith(CANONICAL_BASE)
                severity: Severity = "error" if ours or strict_claims else "warning"
                issues.append(Issue(severity, "not-found", f"Profile reference '{url}' has not "
                                    "been checked because it is unknown", where))
            elif sd.get("type") != rtype:
                issues.append(Issue("error", "invalid", f"Profile '{url}' is for "
                                    f"{sd.get('type')}, not {rtype}", where))
            else:
                urls.append(url.split("|", 1)[0])
        for rule in self.rules:
            if rule.resource_type == rtype and rule.profile not in urls and rule.applies(resource):
                urls.append(rule.profile)
        return urls, issues

    def check(self, resource: dict[str, Any], urls: list[str]) -> list[Issue]:
        """Issues against each profile (the base type when none), duplicates merged."""
        rtype = str(resource.get("resourceType"))
        out: list[Issue] = []
        seen: set[tuple[str, str, tuple[str, ...]]] = set()
        for url in urls or [FHIR_SD + rtype]:
            for issue in self.validator.validate(resource, url):
                key = (issue.severity, _without_source(issue.diagnostics), issue.expression)
                if key not in seen:
                    seen.add(key)
                    out.append(issue)
        return out


def _without_source(text: str) -> str:
    """A message without its '(from <profile>)' suffix, so base rules found twice merge."""
    cut = text.rfind(" (from ")
    return text[:cut] if cut >= 0 else text
