"""Safe XHTML building for narratives (https://hl7.org/fhir/R4/narrative.html#xhtml).

Every text passes through `text()`: escaped, and stripped of characters XML 1.0 cannot carry.
Markup is only ever the fixed tags below, without attributes, so nothing a client writes can
become an element, an attribute, a script or an event handler.
"""

from __future__ import annotations

import re
from html import escape

XHTML_NS = "http://www.w3.org/1999/xhtml"
# Control characters and lone surrogates are not allowed in XML 1.0 (so not in Narrative.div).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_TAGS = frozenset({"div", "p", "h2", "h3", "ul", "li", "b", "i", "br"})


def text(value: object) -> str:
    """Escaped text content."""
    return escape(_NOT_XML.sub("", str(value)), quote=True)


def el(tag: str, *content: str) -> str:
    """An element with already-safe content (only the fixed tag set, never attributes)."""
    assert tag in _TAGS, tag
    return f"<{tag}>{''.join(content)}</{tag}>"


def root(*content: str) -> str:
    """The narrative root div with the XHTML namespace."""
    return f'<div xmlns="{XHTML_NS}">{"".join(content)}</div>'


def lines(value: str) -> str:
    """Escaped multi-line text, line breaks kept as <br/>."""
    parts = [text(line) for line in value.splitlines() or [value]]
    return "<br/>".join(parts)
