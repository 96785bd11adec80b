"""The scenarios: what each sends, what it needs from /fhir/metadata, and how it is paired."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.targets import Targets

Args = Callable[[Targets, int, int], list[str]]


@dataclass(frozen=True)
class Scenario:
    """One load pattern against Fellesplan, compared with the ceiling at the same concurrency."""

    name: str
    title: str
    script: str
    args: Args
    needs: tuple[str, ...]  # capability keys (see capabilities())
    writes: bool = False
    # "open"; "auth" for the server with authentication on; "novalidate" for the server without
    # profile validation on write (FELLESPLAN_VALIDATION_ON_WRITE=false), to price validation.
    server: str = "open"


def _get(name: str) -> Args:
    return lambda t, c, threads: [t.path(name)]


_SEARCH_NEEDS = ("search:CarePlan:patient", "search:CarePlan:category", "include:CarePlan:care-team")

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("read", "Read by id (CarePlan)", "get.lua", _get("read"), ("read",)),
    Scenario("vread", "vread (CarePlan/_history/1)", "get.lua", _get("vread"), ("vread",)),
    Scenario(
        "search",
        "CarePlan?patient&category=A01-2&_include=CarePlan:care-team",
        "get.lua",
        _get("search"),
        ("search:CarePlan:patient", "search:CarePlan:category", "include:CarePlan:care-team"),
    ),
    Scenario(
        "chain",
        "Chained search CarePlan?patient.identifier=<FNR>",
        "get.lua",
        _get("chain"),
        ("search:CarePlan:patient", "chain"),
    ),
    Scenario("history", "CarePlan/_history?_since", "get.lua", _get("history"), ("history-type",)),
    Scenario(
        "create",
        "Create a kriseplan (POST)",
        "post.lua",
        lambda t, c, n: ["/fhir/CarePlan", t.path("create")],
        ("create",),
        writes=True,
    ),
    Scenario(
        "create_unvalidated",
        "Create the same kriseplan, profile validation on write switched off",
        "post.lua",
        lambda t, c, n: ["/fhir/CarePlan", t.path("create")],
        ("create",),
        writes=True,
        server="novalidate",
    ),
    Scenario(
        "validate_op",
        "CarePlan/$validate of the same kriseplan",
        "post.lua",
        lambda t, c, n: ["/fhir/CarePlan/$validate", t.path("create")],
        ("validate",),
    ),
    Scenario(
        "update",
        "Update a kriseplan with If-Match (PUT)",
        "update.lua",
        lambda t, c, n: [t.path("update_pool"), str(n)],
        ("update",),
        writes=True,
    ),
    Scenario(
        "tx10",
        "Transaction of 10 entries",
        "post.lua",
        lambda t, c, n: ["/fhir", t.path("tx10")],
        ("transaction",),
        writes=True,
    ),
    Scenario(
        "auth_read",
        "Read by id with authentication + audit (+ consent when present)",
        "get.lua",
        lambda t, c, n: [t.path("auth_read"), f"Authorization: Bearer {t.token}"],
        ("read", "security"),
        server="auth",
    ),
    Scenario(
        "open_read_auth_paths",
        "Read by id, open, same resources as auth_read",
        "get.lua",
        _get("auth_read"),
        ("read", "security"),
    ),
    Scenario(
        "auth_search",
        "Consent-filtered search: CarePlan?patient&category=A01-2&_include=CarePlan:care-team "
        "with authentication + audit + consent",
        "get.lua",
        lambda t, c, n: [t.path("auth_search"), f"Authorization: Bearer {t.token}"],
        (*_SEARCH_NEEDS, "security"),
        server="auth",
    ),
    Scenario(
        "open_search_auth_paths",
        "The same searches as auth_search, open (unfiltered)",
        "get.lua",
        _get("auth_search"),
        (*_SEARCH_NEEDS, "security"),
    ),
)


def capabilities(cap: dict[str, Any]) -> set[str]:
    """What a CapabilityStatement says is there, as flat keys."""
    out: set[str] = set()
    for rest in cap.get("rest", []):
        out |= {f"{i['code']}" for i in rest.get("interaction", [])}
        for res in rest.get("resource", []):
            t = res["type"]
            out |= {f"{i['code']}" for i in res.get("interaction", []) if t == "CarePlan"}
            out |= {f"{o['name']}" for o in res.get("operation", []) if t == "CarePlan"}
            out |= {f"search:{t}:{p['name']}" for p in res.get("searchParam", [])}
            out |= {f"include:{inc}" for inc in res.get("searchInclude", [])}
            if res.get("searchInclude") is None and t == "CarePlan":
                out.add("include:CarePlan:care-team")  # not declared: tried, and checked live
        if "security" in rest:
            out.add("security")
    out.add("chain")  # not declared in R4 capability: checked live
    return out


def missing(s: Scenario, caps: set[str]) -> list[str]:
    """The capability keys a scenario needs that the server does not have."""
    return [n for n in s.needs if n not in caps]
