"""Search settings, folded into app.config.Settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings


class SearchSettings(BaseSettings):
    """FELLESPLAN_* settings owned by app/search."""

    # _total when the client does not ask: "accurate" (COUNT), "none" (cheapest).
    search_default_total: Literal["accurate", "estimate", "none"] = "accurate"
    # Most resources one page may add through _include/_revinclude (all iterations together).
    search_max_includes: int = Field(default=1000, ge=0)
    # How many rounds :iterate follows (https://hl7.org/fhir/R4/search.html#revinclude).
    search_iterate_depth: int = Field(default=3, ge=0, le=10)
