"""The declarative default policy (profiles/policy/default-policy.json), loaded once per file.

A region changes who may see what by editing the file (or pointing
FELLESPLAN_CONSENT_POLICY_FILE at its own copy); the engine only interprets it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "profiles" / "policy" / "default-policy.json"
RULE_KINDS = frozenset(
    {"self", "consent-deny", "care", "consent-permit", "emergency", "register", "deny"}
)


class PolicyError(ValueError):
    """The policy file is malformed (the server refuses to start rather than guess)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the default policy."""

    id: str
    kind: str
    basis: str
    description: str
    actor_kinds: frozenset[str]
    service_types: frozenset[str]
    read: frozenset[str]
    write: frozenset[str]
    raw: dict[str, Any]

    def reads(self, res_type: str) -> bool:
        """True when the rule grants reading `res_type`."""
        return "*" in self.read or res_type in self.read

    def writes(self, res_type: str) -> bool:
        """True when the rule grants writing `res_type`."""
        return "*" in self.write or res_type in self.write


@dataclass(frozen=True, slots=True)
class Policy:
    """The whole default policy."""

    id: str
    version: str
    compartment: dict[str, tuple[str, str | None]]  # type -> (search param, element)
    hidden_types: frozenset[str]
    rules: tuple[Rule, ...]
    consent: dict[str, Any]
    plan_types: dict[str, frozenset[tuple[str, str]]]
    section_systems: dict[str, str]
    codes: dict[str, Any]

    def rule(self, kind: str) -> Rule | None:
        """The first rule of a kind (None: the deployment switched it off)."""
        return next((r for r in self.rules if r.kind == kind), None)

    def kind_of(self, system: str | None, code: str | None) -> str | None:
        """The plan kind a category coding names."""
        for kind, codings in self.plan_types.items():
            if (system, code) in codings:
                return kind
        return None


def _rule(raw: dict[str, Any]) -> Rule:
    """Parse one rule."""
    kind = raw.get("kind")
    if kind not in RULE_KINDS or not isinstance(raw.get("id"), str):
        raise PolicyError(f"Unknown or unnamed policy rule: {raw!r:.200}")
    return Rule(
        id=raw["id"], kind=kind, basis=str(raw.get("basis", "")),
        description=str(raw.get("description", "")),
        actor_kinds=frozenset(raw.get("actorKinds", ())),
        service_types=frozenset(raw.get("serviceTypes", ())),
        read=frozenset(raw.get("read", ())), write=frozenset(raw.get("write", ())), raw=raw,
    )


def parse(data: dict[str, Any]) -> Policy:
    """Build a Policy from the file's JSON."""
    try:
        codes = data["codes"]
        compartment = {t: (v["param"], v.get("element")) for t, v in data["compartment"].items()}
        plan_types = {k: frozenset((s, c) for s, c in v) for k, v in codes["planTypes"].items()}
        return Policy(
            id=data["id"], version=data["version"], compartment=compartment,
            hidden_types=frozenset(data.get("hiddenTypes", ())),
            rules=tuple(_rule(r) for r in data["rules"]), consent=data["consent"],
            plan_types=plan_types, section_systems=dict(codes["sectionSystems"]), codes=codes,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(f"Malformed consent policy: {exc}") from exc


@lru_cache(maxsize=4)
def _load(path: str) -> Policy:
    """Read and parse one policy file."""
    return parse(json.loads(Path(path).read_bytes()))


def current() -> Policy:
    """The deployment's policy (FELLESPLAN_CONSENT_POLICY_FILE, else the shipped default)."""
    return _load(os.environ.get("FELLESPLAN_CONSENT_POLICY_FILE") or str(DEFAULT_FILE))
