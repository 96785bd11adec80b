"""References inside resources: find them, and rewrite them between servers' ids."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import orjson

from app.fhir.models import SERVED

Key = tuple[str, str]  # (type, id)
# What sync moves: plans (crisis plans and individual plans are CarePlans) and what they reference.
PLAN_TYPES = ("CarePlan",)
MAX_DEPTH = 3


def _refs(node: Any) -> Iterator[dict[str, Any]]:
    """Every Reference-shaped object (with a string `reference`) in a resource."""
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def parse_ref(ref: str, base: str | None = None) -> Key | None:
    """(type, id) of a relative reference, or of an absolute one on `base`; None otherwise."""
    if base and ref.startswith(base.rstrip("/") + "/"):
        ref = ref[len(base.rstrip("/")) + 1:]
    parts = ref.split("/")
    if len(parts) in (2, 4) and parts[0] in SERVED and (len(parts) == 2 or parts[2] == "_history"):
        return parts[0], parts[1]
    return None


def references(resource: dict[str, Any], base: str | None = None) -> list[Key]:
    """The served resources a resource points to, in first-seen order."""
    out: list[Key] = []
    for node in _refs(resource):
        key = parse_ref(node["reference"], base)
        if key is not None and key not in out:
            out.append(key)
    return out


def rewrite(resource: dict[str, Any], mapping: Callable[[Key], str | None], base: str | None = None) -> None:
    """Replace each reference the mapping knows (in place); others stay as they are."""
    for node in _refs(resource):
        key = parse_ref(node["reference"], base)
        if key is not None and (new := mapping(key)) is not None:
            node["reference"] = new


def _escape(value: str) -> str:
    """FHIR search escaping of a token part (https://hl7.org/fhir/R4/search.html#escaping)."""
    return value.replace("\\", "\\\\").replace("|", "\\|").replace(",", "\\,").replace("$", "\\$")


def identifier_token(resource: dict[str, Any]) -> str | None:
    """`system|value` of the first complete business identifier, if any (search-escaped)."""
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") and ident.get("value"):
            return f"{_escape(str(ident['system']))}|{_escape(str(ident['value']))}"
    return None


def identifier_query(resource: dict[str, Any]) -> str | None:
    """`identifier=system|value`, URL-encoded, for conditional interactions."""
    token = identifier_token(resource)
    return urlencode({"identifier": token}) if token else None


def content_hash(resource: dict[str, Any]) -> str:
    """A hash of the content that sync compares (everything but meta)."""
    body = {k: v for k, v in resource.items() if k != "meta"}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
