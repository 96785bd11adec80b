"""A FHIRPath subset compiled to Python closures, for invariants evaluated on every write.

fhirpathpy is correct but costs milliseconds per expression; invariants are fixed at start, so
they are compiled once from fhirpathpy's parse tree into closures over plain JSON values.
Anything outside the subset raises Unsupported at compile time and stays on fhirpathpy.
Semantics: https://hl7.org/fhirpath/N1/ (collections, empty propagation, three-valued logic).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from app.validation.datetimes import compare_datetimes

Env = dict[str, Any]
Fn = Callable[[list[Any], Env], list[Any]]
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$")


class Unsupported(Exception):
    """The expression uses something outside the subset (it stays on fhirpathpy)."""


class Singleton(Exception):
    """A runtime collection that should have held one item held several (caller falls back)."""


def compile_ast(node: dict[str, Any]) -> Fn:
    """Compile a fhirpathpy parse tree (the root has one child expression)."""
    return _expr(node["children"][0])


def _expr(node: dict[str, Any]) -> Fn:
    """Dispatch on the node type."""
    kind = node["type"]
    kids = node.get("children", [])
    if kind in ("TermExpression", "InvocationTerm", "ParenthesizedTerm", "LiteralTerm"):
        return _expr(kids[0])
    if kind == "InvocationExpression":
        return _chain(_expr(kids[0]), kids[1])
    if kind == "MemberInvocation":
        return _member(_identifier(kids[0]))
    if kind == "FunctionInvocation":
        return _function(kids[0], None)
    if kind == "ThisInvocation":
        return lambda focus, env: [env["$this"]] if "$this" in env else focus
    if kind == "ExternalConstantTerm":
        return _constant(node)
    if kind in _LITERALS:
        return _LITERALS[kind](node)
    if kind in _BINARY:
        op = node["terminalNodeText"][0]
        left, right = _expr(kids[0]), _expr(kids[1])
        fn = _BINARY[kind](op, left, right)
        if isinstance(left, _Const) and isinstance(right, _Const):
            return _Const(fn([], {}))  # e.g. ('a' | 'b' | 'c'): folded once
        return fn
    raise Unsupported(kind)


def _identifier(node: dict[str, Any]) -> str:
    """The text of an Identifier node (backticks removed)."""
    return str(node["terminalNodeText"][0]).strip("`")


def _chain(left: Fn, invocation: dict[str, Any]) -> Fn:
    """left.invocation: the invocation sees left's result as its focus."""
    if invocation["type"] == "MemberInvocation":
        member = _member(_identifier(invocation["children"][0]))
        return lambda focus, env: member(left(focus, env), env)
    if invocation["type"] == "FunctionInvocation":
        return _function(invocation["children"][0], left)
    raise Unsupported(invocation["type"])


def _member(name: str) -> Fn:
    """Child navigation; a leading type name (CarePlan.x) filters the root."""
    is_type = name[0].isupper()

    def run(focus: list[Any], env: Env) -> list[Any]:
        out: list[Any] = []
        for item in focus:
            if type(item) is not dict:
                continue
            if is_type and item.get("resourceType") == name:
                out.append(item)
                continue
            value = item.get(name)
            if value is None:
                value = _choice(item, name)
                if value is None:
                    continue
            if type(value) is list:
                out.extend(v for v in value if v is not None)
            else:
                out.append(value)
        return out

    return run


def _choice(item: dict[str, Any], name: str) -> Any:
    """value[x]: the one key named name + TypeName, if any."""
    for key, value in item.items():
        if key.startswith(name) and key[len(name) : len(name) + 1].isupper():
            return value
    return None


def _constant(node: dict[str, Any]) -> Fn:
    """%resource, %rootResource, %context, %ucum."""
    text = str(node.get("text", "")).lstrip("%").strip("`'")
    if text == "ucum":
        return lambda focus, env: ["http://unitsofmeasure.org"]
    if text not in ("resource", "rootResource", "context"):
        raise Unsupported(f"%{text}")
    return lambda focus, env: [env[text]] if env.get(text) is not None else []


class _Const:
    """A sub-expression that does not depend on the input: evaluated once, at compile time."""

    __slots__ = ("values",)

    def __init__(self, values: list[Any]) -> None:
        self.values = values

    def __call__(self, focus: list[Any], env: Env) -> list[Any]:
        return self.values


def _string(node: dict[str, Any]) -> Fn:
    """'text' with FHIRPath escapes."""
    raw = str(node["terminalNodeText"][0])[1:-1]
    escapes = {"n": "\n", "t": "\t", "r": "\r"}
    return _Const([re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), raw)])


def _number(node: dict[str, Any]) -> Fn:
    """An integer or decimal literal."""
    text = str(node["terminalNodeText"][0])
    return _Const([Decimal(text) if "." in text else int(text)])


def _boolean(node: dict[str, Any]) -> Fn:
    """true / false."""
    return _Const([node["terminalNodeText"][0] == "true"])


_LITERALS: dict[str, Callable[[dict[str, Any]], Fn]] = {
    "StringLiteral": _string,
    "NumberLiteral": _number,
    "BooleanLiteral": _boolean,
    "NullLiteral": lambda node: _Const([]),
}


def _single(values: list[Any]) -> Any:
    """The one item of a collection, None for empty; several items is an error."""
    if not values:
        return None
    if len(values) > 1:
        raise Singleton()
    return values[0]


def _truth(values: list[Any]) -> bool | None:
    """A collection as a three-valued boolean (a single non-boolean item counts as true)."""
    item = _single(values)
    if item is None:
        return None
    return item if isinstance(item, bool) else True


def _key(value: Any) -> Any:
    """A hashable, type-aware identity for equality and distinct()."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float | Decimal):
        return ("n", Decimal(str(value)))
    if isinstance(value, str):
        return ("s", value)
    return ("j", orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str))


def _equal(a: list[Any], b: list[Any]) -> list[Any]:
    """= on collections: empty if either is empty; order-sensitive item equality."""
    if not a or not b:
        return []
    if len(a) != len(b):
        return [False]
    for x, y in zip(a, b, strict=True):
        if type(x) is str and type(y) is str:
            if x == y:
                continue
            if not (_DATE.match(x) and _DATE.match(y)):
                return [False]
            cmp = compare_datetimes(x, y)
            if cmp is None:
                return []
            if cmp != 0:
                return [False]
        elif _key(x) != _key(y):
            return [False]
    return [True]


def _compare(op: str, a: Any, b: Any) -> list[Any]:
    """<, <=, >, >= on numbers, strings and dates (unequal date precision: empty)."""
    if a is None or b is None:
        return []
    if isinstance(a, str) and isinstance(b, str):
        if _DATE.match(a) and _DATE.match(b):
            cmp = compare_datetimes(a, b)
            if cmp is None:
                return []
        else:
            cmp = (a > b) - (a < b)
    elif isinstance(a, int | Decimal | float) and isinstance(b, int | Decimal | float):
        x, y = Decimal(str(a)), Decimal(str(b))
        cmp = (x > y) - (x < y)
    else:
        raise Unsupported("comparison of these types")
    return [{"<": cmp < 0, "<=": cmp <= 0, ">": cmp > 0, ">=": cmp >= 0}[op]]


def _equality(op: str, left: Fn, right: Fn) -> Fn:
    """= and != (equivalence ~ stays on fhirpathpy)."""
    if op not in ("=", "!="):
        raise Unsupported(op)
    const = right.values if isinstance(right, _Const) else None
    if const and len(const) == 1 and type(const[0]) is str and not _DATE.match(const[0]):
        want, negate = const[0], op == "!="

        def run_str(focus: list[Any], env: Env) -> list[Any]:
            got = left(focus, env)  # path = 'literal': the common case, compared directly
            if not got:
                return []
            if len(got) == 1 and type(got[0]) is str:
                return [(got[0] == want) != negate]
            result = _equal(got, const)
            return [not result[0]] if (result and negate) else result

        return run_str

    def run(focus: list[Any], env: Env) -> list[Any]:
        result = _equal(left(focus, env), right(focus, env))
        return [not result[0]] if (result and op == "!=") else result

    return run


def _inequality(op: str, left: Fn, right: Fn) -> Fn:
    """Ordering comparisons."""
    return lambda focus, env: _compare(op, _single(left(focus, env)), _single(right(focus, env)))


def _logic(op: str, left: Fn, right: Fn) -> Fn:
    """and, or, xor, implies with three-valued logic."""

    def run(focus: list[Any], env: Env) -> list[Any]:
        a = _truth(left(focus, env))
        if (op == "and" and a is False) or (op == "or" and a is True):
            return [a]
        if op == "implies" and a is False:
            return [True]
        b = _truth(right(focus, env))
        if op == "and":
            value = False if b is False else (True if (a and b) else None)
        elif op == "or":
            value = True if b is True else (False if (a is False and b is False) else None)
        elif op == "xor":
            value = None if (a is None or b is None) else a != b
        else:  # implies: a is True or unknown here
            value = True if b is True else (False if a is True and b is False else None)
        return [] if value is None else [value]

    return run


def _union(op: str, left: Fn, right: Fn) -> Fn:
    """a | b, without duplicates."""
    return lambda focus, env: _distinct(left(focus, env) + right(focus, env))


def _membership(op: str, left: Fn, right: Fn) -> Fn:
    """in / contains (collection membership)."""
    item_side, coll_side = (left, right) if op == "in" else (right, left)

    plain = _plain_strings(coll_side)

    def run(focus: list[Any], env: Env) -> list[Any]:
        item = _single(item_side(focus, env))
        if item is None:
            return []
        if plain is not None and type(item) is str:
            return [item in plain]  # a constant list of non-date strings: a set lookup
        return [any(_equal([item], [c]) == [True] for c in coll_side(focus, env))]

    return run


def _plain_strings(fn: Fn) -> frozenset[str] | None:
    """The values of a constant collection of non-date strings, else None."""
    if not isinstance(fn, _Const):
        return None
    if all(type(v) is str and not _DATE.match(v) for v in fn.values):
        return frozenset(fn.values)
    return None


def _arithmetic(op: str, left: Fn, right: Fn) -> Fn:
    """+ - * div mod on integers and decimals; + and & on strings."""
    if op not in ("+", "-", "*", "div", "mod", "&"):
        raise Unsupported(op)

    def run(focus: list[Any], env: Env) -> list[Any]:
        a, b = _single(left(focus, env)), _single(right(focus, env))
        if op == "&":
            return [(a or "") + (b or "")]
        if a is None or b is None:
            return []
        if isinstance(a, str) and isinstance(b, str) and op == "+":
            return [a + b]
        if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
            raise Unsupported("arithmetic on non-numbers")
        if op in ("div", "mod") and b == 0:
            return []
        return [{"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                 "div": lambda: a // b, "mod": lambda: a % b}[op]()]

    return run


_BINARY: dict[str, Callable[[str, Fn, Fn], Fn]] = {
    "EqualityExpression": _equality,
    "InequalityExpression": _inequality,
    "AndExpression": _logic,
    "OrExpression": _logic,
    "ImpliesExpression": _logic,
    "UnionExpression": _union,
    "MembershipExpression": _membership,
    "AdditiveExpression": _arithmetic,
    "MultiplicativeExpression": _arithmetic,
}


def _distinct(values: list[Any]) -> list[Any]:
    """Items without duplicates, first occurrence kept."""
    seen: set[Any] = set()
    out = []
    for v in values:
        k = _key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


def _function(functn: dict[str, Any], left: Fn | None) -> Fn:
    """name(params) applied to left's result (or the focus when at the start of a path)."""
    from app.validation.fastfunctions import FUNCTIONS

    kids = functn["children"]
    name = _identifier(kids[0])
    params = [_expr(p) for p in kids[1]["children"]] if len(kids) > 1 else []
    impl = FUNCTIONS.get(name)
    if impl is None:
        raise Unsupported(f"{name}()")

    def run(focus: list[Any], env: Env) -> list[Any]:
        base = left(focus, env) if left is not None else focus
        return impl(base, params, env)

    return run
