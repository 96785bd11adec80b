"""pattern[x] matching and discriminator paths over FHIR JSON."""

from __future__ import annotations

from typing import Any


def matches_pattern(actual: Any, pattern: Any) -> bool:
    """True when actual contains everything in pattern (https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.pattern_x_)."""
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return False
        return all(k in actual and matches_pattern(actual[k], v) for k, v in pattern.items())
    if isinstance(pattern, list):
        if not isinstance(actual, list):
            return False
        return all(any(matches_pattern(a, p) for a in actual) for p in pattern)
    return bool(actual == pattern)


def values_at(value: Any, path: str) -> list[Any]:
    """The values at a dotted discriminator path ($this = the value), lists flattened."""
    current = [value]
    if path in ("$this", ""):
        return current
    for part in path.split("."):
        nxt: list[Any] = []
        for item in current:
            if not isinstance(item, dict):
                continue
            found = item.get(part)
            if isinstance(found, list):
                nxt.extend(found)
            elif found is not None:
                nxt.append(found)
        current = nxt
    return current


def reference_type(ref: str, root: dict[str, Any]) -> str | None:
    """The resource type a reference string points to, when it can be known locally."""
    if ref.startswith("#"):
        for c in root.get("contained", []):
            if c.get("id") == ref[1:]:
                return str(c.get("resourceType"))
        return None
    if ref.startswith(("urn:uuid:", "urn:oid:")):
        return None
    if "?" in ref:  # conditional reference (transactions): Type?search
        head = ref.split("?", 1)[0]
        parts = head.split("/")
        return parts[-1] if parts[-1][:1].isupper() else None
    parts = ref.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return parts[-2] if len(parts) >= 2 and parts[-2][:1].isupper() else None
