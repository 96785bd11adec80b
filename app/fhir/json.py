"""FHIR JSON reading and writing.

orjson is the fast path. FHIR decimals carry their precision (1.50 is not 1.5,
https://hl7.org/fhir/R4/datatypes.html#decimal), so a document that contains decimals is
re-read with Decimal values and written with simplejson, which keeps them as written.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import simplejson  # type: ignore[import-untyped]

from app.fhir.errors import BadRequest


def loads(body: bytes, *, max_depth: int) -> Any:
    """Parse a JSON body; malformed JSON, bad UTF-8 or excessive nesting raise BadRequest."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as uexc:
            raise BadRequest(f"The body is not valid UTF-8 (byte {uexc.start}).") from None
        raise BadRequest(f"The body is not valid JSON: {exc}") from None
    if _walk(data, max_depth):
        data = simplejson.loads(body, use_decimal=True)
    return data


def _walk(data: Any, max_depth: int) -> bool:
    """Check nesting depth without recursion; return True when the document has decimals."""
    has_float = False
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise BadRequest(f"The JSON document is nested deeper than {max_depth} levels.")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list | float))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list | float))
        elif isinstance(node, float):
            has_float = True
    return has_float


def _has_decimal(data: Any) -> bool:
    """True when a Decimal appears anywhere in the document."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, Decimal):
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def dumps(data: Any, *, pretty: bool = False) -> bytes:
    """Serialise a FHIR document to UTF-8 bytes, keeping decimal precision."""
    try:
        # orjson refuses Decimal, so documents without decimals (nearly all) need no walk.
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 if pretty else 0)
    except orjson.JSONEncodeError:
        if not _has_decimal(data):
            raise
    text: str = simplejson.dumps(
        data, use_decimal=True, ensure_ascii=False, indent=2 if pretty else None,
        separators=None if pretty else (",", ":"),
    )
    return text.encode("utf-8")


def loads_stored(content: bytes) -> Any:
    """Parse stored content (already validated), keeping decimals exact."""
    data = orjson.loads(content)
    if _walk(data, 10_000):
        return simplejson.loads(content, use_decimal=True)
    return data
