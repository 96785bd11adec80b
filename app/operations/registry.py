"""The operations table: each $operation is a module with DEFINITION and handle().

See https://hl7.org/fhir/R4/operations.html. The CapabilityStatement lists what is registered here.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.config import Settings
from app.fhir.errors import MethodNotAllowed, NotSupported
from app.services.context import RequestContext

# Module names under app.operations. A module that is not importable yet is a bug, not a skip.
MODULES: tuple[str, ...] = ("everything", "validate", "populate", "extract", "document",
                            "access", "changes")


@dataclass(frozen=True, slots=True)
class OperationCall:
    """One invocation of an operation."""

    request: Request
    session: AsyncSession
    ctx: RequestContext
    settings: Settings
    res_type: str | None
    res_id: str | None
    params: list[tuple[str, str]]
    body: dict[str, Any] | None


Handler = Callable[[OperationCall], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Operation:
    """A registered operation."""

    name: str
    definition: dict[str, Any]
    handle: Handler

    def allows(self, level: str, res_type: str | None) -> bool:
        """True when the operation is defined at this level (system/type/instance) for the type."""
        d = self.definition
        if not d.get(level, False):
            return False
        types = d.get("resource") or []
        return level == "system" or res_type in types or "Resource" in types

    @property
    def affects_state(self) -> bool:
        """True when the operation changes data (so GET is not allowed)."""
        return bool(self.definition.get("affectsState", False))


@lru_cache(maxsize=1)
def registry() -> dict[str, Operation]:
    """Every registered operation by code (without the $)."""
    out: dict[str, Operation] = {}
    for name in MODULES:
        mod: ModuleType = importlib.import_module(f"app.operations.{name}")
        op = Operation(mod.DEFINITION["code"], mod.DEFINITION, mod.handle)
        out[op.name] = op
    return out


def resolve(code: str, level: str, res_type: str | None, method: str) -> Operation:
    """The operation for this URL, or 404/405."""
    op = registry().get(code)
    if op is None or not op.allows(level, res_type):
        where = f"{res_type} " if res_type else ""
        raise NotSupported(f"Operation ${code} is not supported at {where}{level} level.")
    if method == "GET" and op.affects_state:
        raise MethodNotAllowed(f"${code} changes data; use POST.")
    return op
