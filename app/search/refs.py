"""Reference parsing shared by extraction and query parsing.

See https://hl7.org/fhir/R4/references.html#literal.
"""

from __future__ import annotations

import re

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
# Our own base, set once at start so absolute references to this server index as local.
_LOCAL_BASES: list[str] = []


def set_local_base(base: str) -> None:
    """Register the server's own base URL (references to it are local)."""
    base = base.rstrip("/")
    if base not in _LOCAL_BASES:
        _LOCAL_BASES.append(base)


def parse_reference(ref: str) -> tuple[str | None, str | None, str | None]:
    """(type, id, url): a local `Type/id` (version dropped), else the absolute/canonical URL."""
    ref = ref.strip()
    for base in _LOCAL_BASES:
        if ref.startswith(base + "/"):
            ref = ref[len(base) + 1:]
            break
    if "://" not in ref and not ref.startswith("urn:"):
        parts = ref.split("/_history/")[0].split("/")
        if len(parts) == 2 and _TYPE.match(parts[0]) and _ID.match(parts[1]):
            return parts[0], parts[1], None
        return None, None, ref
    return None, None, ref
