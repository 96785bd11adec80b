"""htmlChecks() for Narrative.div (txt-1, txt-2): https://hl7.org/fhir/R4/narrative.html#xhtml."""

from __future__ import annotations

import html
import re

# Elements the narrative rules exclude (scripts, forms, frames, document-level markup).
_FORBIDDEN = frozenset(
    {
        "script", "form", "input", "button", "select", "option", "textarea", "iframe", "frame",
        "frameset", "object", "embed", "applet", "base", "basefont", "link", "meta", "style",
        "head", "body", "html", "title", "noscript", "param",
    }
)
_TAG = re.compile(r"<\s*([A-Za-z][\w:.-]*)([^>]*)>")
_EVENT = re.compile(r"(?:^|\s)(on[a-z]+)\s*=", re.IGNORECASE)
_JS_URL = re.compile(r"=\s*[\"']?\s*javascript:", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]*>")


# Not cached on purpose: narratives are health data and must not outlive the request.
def html_checks(div: str, *, content: bool) -> str | None:
    """txt-2 when content=True (non-whitespace content or an image), else txt-1 (basic html)."""
    if content:
        if "<img" in div or html.unescape(_ANY_TAG.sub("", div)).strip():
            return None
        return "the narrative has no content"
    for m in _TAG.finditer(div):
        tag, attrs = m.group(1).lower(), m.group(2)
        if tag in _FORBIDDEN:
            return f"element <{tag}> is not allowed"
        event = _EVENT.search(attrs)
        if event:
            return f"event attribute {event.group(1)} is not allowed"
        if _JS_URL.search(attrs):
            return "javascript: URLs are not allowed"
    return None
