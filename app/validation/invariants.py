"""FHIRPath invariants: compiled once with fhirpathpy, plus a small override table.

An override replaces fhirpathpy for one constraint key, for one of three written-down reasons:
GAP (fhirpathpy cannot evaluate it), SPEED (evaluated on nearly every element; the native
version is checked against fhirpathpy in tests) or RULE (our own checks that must name the
rule that failed, e.g. check digits). See https://hl7.org/fhir/R4/conformance-rules.html.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fhirpathpy import apply_parsed_path
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models
from fhirpathpy.parser import parse

from app.validation import fastpath
from app.validation import identifiers as ids
from app.validation.datetimes import compare_datetimes
from app.validation.narrative import html_checks
from app.validation.patterns import reference_type

R4 = models["r4"]
# (value at the element, root resource, settings) -> None when it holds, else a detail message.
Native = Callable[[Any, dict[str, Any], "InvariantSettings"], str | None]


@dataclass(frozen=True, slots=True)
class InvariantSettings:
    """Runtime choices that change how invariants evaluate."""

    fnr_rule: ids.CheckRule = "both"


def _ok(cond: bool) -> str | None:
    """None when cond holds, else an empty detail."""
    return None if cond else ""


def _ele1(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """ele-1: a value or children other than id."""
    if isinstance(v, dict):
        return _ok(any(k != "id" for k in v))
    return _ok(v is not None and v != "")


def _ext1(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """ext-1: extension.exists() != value.exists()."""
    has_value = any(k.startswith("value") and k[5:6].isupper() for k in v)
    return _ok(bool(v.get("extension")) != has_value)


def _contained(v: Any) -> list[dict[str, Any]]:
    """The contained resources of a resource dict."""
    return [c for c in v.get("contained", []) if isinstance(c, dict)]


def _dom2(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """dom-2: contained resources contain nothing."""
    return _ok(not any(c.get("contained") for c in _contained(v)))


def _dom3(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """dom-3: each contained resource is referenced ('#id' anywhere) or refers back ('#')."""
    contained = _contained(v)
    if not contained:
        return None
    refs = set(_all_strings(v))
    missing = [
        str(c.get("id", ""))
        for c in contained
        if "#" + str(c.get("id", "")) not in refs and "#" not in _all_strings(c)
    ]
    return "unreferenced contained: " + ", ".join(missing) if missing else None


def _all_strings(value: Any) -> list[str]:
    """Every string value anywhere inside value."""
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _dom4(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """dom-4: contained resources carry no meta.versionId or meta.lastUpdated."""
    metas = [c.get("meta", {}) for c in _contained(v)]
    return _ok(not any("versionId" in m or "lastUpdated" in m for m in metas))


def _dom5(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """dom-5: contained resources carry no security labels."""
    return _ok(not any(c.get("meta", {}).get("security") for c in _contained(v)))


def _dom6(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """dom-6: a narrative is recommended."""
    return _ok(bool(v.get("text", {}).get("div")))


def _txt1(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """txt-1: only basic html in the narrative (htmlChecks() is not in fhirpathpy)."""
    return html_checks(_div(v), content=False)


def _txt2(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """txt-2: the narrative has non-whitespace content."""
    return html_checks(_div(v), content=True)


def _div(v: Any) -> str:
    """The xhtml of Narrative.div (the constraint sits on the div itself)."""
    return str(v.get("div", "")) if isinstance(v, dict) else str(v)


def _ref1(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """ref-1: a local reference (#id) names a contained resource."""
    ref = v.get("reference")
    if not isinstance(ref, str) or not ref.startswith("#") or ref == "#":
        return None  # '#' alone points at the container; substring(1) is empty, so ref-1 holds
    return _ok(ref[1:] in {c.get("id") for c in _contained(root)})


def _ctm1(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """ctm-1: resolve() only reaches contained resources; unresolvable members pass (iif)."""
    if not v.get("onBehalfOf"):
        return None
    ref = v.get("member", {}).get("reference")
    if not isinstance(ref, str):
        return None
    # The type is known from the reference itself (or the contained target); unknown passes.
    rtype = reference_type(ref, root)
    return _ok(rtype is None or rtype == "Practitioner")


def _cpl3(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """cpl-3: an activity has a reference or a detail, not both."""
    return _ok(not (v.get("detail") and v.get("reference")))


def _per1(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """per-1: start <= end, with FHIRPath precision rules (unequal precision may be unknown)."""
    start, end = v.get("start"), v.get("end")
    if not isinstance(start, str) or not isinstance(end, str):
        return None
    return _ok(compare_datetimes(start, end) in (-1, 0, None))


def _rng2(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """rng-2: low <= high when both have a value in the same unit (else unknown: passes)."""
    low, high = v.get("low") or {}, v.get("high") or {}
    lv, hv = low.get("value"), high.get("value")
    if lv is None or hv is None or low.get("code", low.get("unit")) != high.get(
        "code", high.get("unit")
    ):
        return None
    return _ok(lv <= hv)


def _que7(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """que-7: operator 'exists' needs answerBoolean (fhirpathpy misreads `is Boolean`)."""
    return _ok(v.get("operator") != "exists" or "answerBoolean" in v)


def _person_id(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """fp-pid-1: every FNR, DNR and FHN identifier has valid check digits (names the rule)."""
    for i, ident in enumerate(v.get("identifier", [])):
        system, value = ident.get("system"), ident.get("value")
        if system in ids.PERSON_SYSTEMS and isinstance(value, str):
            # Same rule as the published FHIRPath: format, first digit and check digits.
            rule = ids.check_identifier(system, value, s.fnr_rule, dates=False)
            if rule:  # the number itself is never echoed: messages end up in logs
                return f"identifier[{i}] ({_KIND[system]}) rejected by rule: {rule}"
    return None


_KIND = {ids.FNR_SYSTEM: "FNR", ids.DNR_SYSTEM: "DNR", ids.FHN_SYSTEM: "FHN"}


def _org_id(v: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
    """fp-org-1: every organisasjonsnummer has a valid check digit (names the rule)."""
    for i, ident in enumerate(v.get("identifier", [])):
        system, value = ident.get("system"), ident.get("value")
        if system in (ids.ORGNR_SYSTEM, *ids.RETIRED_SYSTEMS) and isinstance(value, str):
            rule = ids.check_identifier(system, value)
            if rule:
                return f"identifier[{i}] (organisasjonsnummer) rejected by rule: {rule}"
    return None


# key -> (reason, implementation). Keys not listed run through fhirpathpy.
OVERRIDES: dict[str, tuple[str, Native]] = {
    "ele-1": ("SPEED: on every element", _ele1),
    "ext-1": ("SPEED: on every extension", _ext1),
    "dom-2": ("SPEED: on every resource", _dom2),
    "dom-3": ("GAP+SPEED: descendants()/as(canonical) over the whole resource", _dom3),
    "dom-4": ("SPEED: on every resource", _dom4),
    "dom-5": ("SPEED: on every resource", _dom5),
    "dom-6": ("SPEED: on every resource", _dom6),
    "txt-1": ("GAP: htmlChecks() is not implemented by fhirpathpy", _txt1),
    "txt-2": ("GAP: htmlChecks() is not implemented by fhirpathpy", _txt2),
    "ref-1": ("SPEED: on every Reference", _ref1),
    "ctm-1": ("GAP: resolve() is not implemented; only contained targets resolve", _ctm1),
    "cpl-3": ("SPEED: on every CarePlan activity", _cpl3),
    "per-1": ("GAP: fhirpathpy lacks hasValue() on dates; precision rules kept", _per1),
    "rng-2": ("GAP: fhirpathpy cannot compare Quantity values", _rng2),
    "que-7": ("GAP: fhirpathpy reads `is Boolean` as System.Boolean, never FHIR boolean", _que7),
    "fp-pid-1": ("RULE: configurable 2032 rule, names the rejecting rule", _person_id),
    "fp-org-1": ("RULE: names the rejecting rule", _org_id),
}


def parse_fhirpath(expression: str) -> Any:
    """Parse once (fhirpathpy is untyped; its calls are confined to this module)."""
    return parse(expression)  # type: ignore[no-untyped-call]


def evaluate_parsed(parsed: Any, value: Any, base: str, env: dict[str, Any]) -> list[Any]:
    """Evaluate a parsed expression at value (typed as base); plain Python values out."""
    node = ResourceNode.create_node(value, base) if base else value  # type: ignore[no-untyped-call]
    out = apply_parsed_path(node, parsed, env, R4, _OPTIONS)  # type: ignore[no-untyped-call]
    return [getattr(r, "data", r) for r in out]


class Compiled:
    """One invariant, ready to evaluate at an element."""

    __slots__ = ("base", "fast", "native", "parsed")

    def __init__(self, expression: str, base: str, native: Native | None) -> None:
        self.native = native
        self.base = base
        self.parsed = None if native else parse_fhirpath(expression)
        self.fast: fastpath.Fn | None = None
        if self.parsed is not None:
            try:
                self.fast = fastpath.compile_ast(self.parsed)
            except fastpath.Unsupported:
                self.fast = None  # outside the compiled subset: fhirpathpy evaluates it

    def evaluate(self, value: Any, root: dict[str, Any], s: InvariantSettings) -> str | None:
        """None when the invariant holds; else a (possibly empty) detail."""
        if self.native is not None:
            return self.native(value, root, s)
        if self.fast is not None and FASTPATH["enabled"]:
            env = {"resource": root, "rootResource": root, "context": value}
            try:
                return "" if self.fast([value], env) == [False] else None
            except Exception:  # e.g. several items where one was expected: let fhirpathpy decide
                pass
        return fhirpath_check(self.parsed, self.base, value, root)


# Tests switch the compiled subset off to compare it with fhirpathpy on every example.
FASTPATH = {"enabled": True}


_CACHE: dict[tuple[str, str, str], Compiled] = {}
# trace() is used by some base constraints (que-1, ref-1); its output is not wanted.
_OPTIONS = {"returnRawData": True, "traceFn": lambda *args: None}


def compile_invariant(key: str, expression: str, base: str) -> Compiled:
    """The compiled invariant (shared across profiles with the same key and expression)."""
    cache_key = (key, expression, base)
    if cache_key not in _CACHE:
        native = OVERRIDES.get(key)
        _CACHE[cache_key] = Compiled(expression, base, native[1] if native else None)
    return _CACHE[cache_key]


def fhirpath_check(parsed: Any, base: str, value: Any, root: dict[str, Any]) -> str | None:
    """Evaluate with fhirpathpy. Only an explicit false fails: empty (unknown) passes."""
    env = {"resource": root, "rootResource": root, "context": value}
    try:
        values = evaluate_parsed(parsed, value, base, env)
    except Exception as exc:  # an engine gap must never reject data; it is reported as a warning
        return f"__error__:{type(exc).__name__}: {exc}"
    return "" if values == [False] else None


def fhirpath_evaluate(expression: str, resource: dict[str, Any]) -> list[Any]:
    """Evaluate an expression on a resource (used by tests to compare overrides)."""
    env = {"resource": resource, "rootResource": resource}
    return evaluate_parsed(parse_fhirpath(expression), resource, str(resource.get("resourceType")), env)
