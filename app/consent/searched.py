"""Which patients a search is restricted to, read from its criteria (None: not restricted).

Only an optimisation: a scope that loads just these patients denies everything of any other
patient whose Consents name the actor, so a wrong answer here can hide, never reveal.
"""

from __future__ import annotations

from app.consent.policy import Policy


def _patient_id(value: str) -> str | None:
    """The Patient id of a reference search value (`id`, `Patient/id`, `<base>/Patient/id`)."""
    if not value or "|" in value:
        return None
    parts = value.rstrip("/").split("/")
    if len(parts) == 1:
        return parts[0]
    if parts[-2] == "Patient" and parts[-1]:
        return parts[-1]
    return None


def searched_patients(policy: Policy, res_type: str | None,
                      params: list[tuple[str, str]]) -> list[str] | None:
    """The patients every match belongs to, when the criteria say so; None otherwise."""
    spec = policy.compartment.get(res_type or "")
    if spec is None:
        return None
    names = {"_id"} if spec[0] == "_self" else {spec[0], spec[1] or spec[0]}
    out: list[str] = []
    restricted = False
    for name, value in params:
        base, _, modifier = name.partition(":")
        if base not in names or modifier not in ("", "Patient"):
            continue
        ids = [_patient_id(v) for v in value.split(",")]
        if any(i is None for i in ids):
            return None
        out += [i for i in ids if i is not None]
        restricted = True
    return sorted(set(out)) if restricted else None
