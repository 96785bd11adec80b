"""Validation settings, folded into app.config.Settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings


class ValidationSettings(BaseSettings):
    """FELLESPLAN_* settings owned by app/validation."""

    # Which FNR/DNR/FHN check-digit rule to accept: today's (legacy), the one for numbers issued
    # from 2032, or both (what systems must do during the transition; Skatteetaten).
    validation_fnr_rule: Literal["legacy", "2032", "both"] = "both"
    # JSON file of mandatory profiles per type + category; empty = profiles/mandatory-profiles.json.
    validation_mandatory_profiles_file: str = ""
    # Directory of Fellesplan's conformance resources; empty = the checkout's profiles/, else ./profiles.
    validation_profiles_dir: str = ""
    # Profile validation of every create/update (structure is always checked). Turning it off is
    # for measuring its cost in the benchmark harness (issue 6); production refuses to start so.
    validation_on_write: bool = True

    @model_validator(mode="after")
    def _production_validates(self) -> Any:
        """Refuse to run production without profile validation on write."""
        if getattr(self, "env", None) == "production" and not self.validation_on_write:
            raise ValueError("production requires FELLESPLAN_VALIDATION_ON_WRITE=true")
        return self
