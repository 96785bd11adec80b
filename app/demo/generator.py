"""The demo data set: a deterministic directory and N patients around it."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from app.demo import directory
from app.demo.patient import PatientData, build

PATIENTS_PER_REGION = 400
_SAMPLE = 64


class DemoSet:
    """Same seed and size, same resources, ids and text (the benchmark and `make run` share it)."""

    def __init__(self, patients: int, seed: int = 1) -> None:
        self.patients = patients
        self.seed = seed
        self.n_regions = max(1, math.ceil(patients / PATIENTS_PER_REGION))

    @cached_property
    def regions(self) -> list[directory.Region]:
        """Every region, built once."""
        return [directory.region(self.seed, r) for r in range(self.n_regions)]

    def directory(self) -> list[dict[str, Any]]:
        """Questionnaires, organisations, practitioners and roles (written before any patient)."""
        out = directory.questionnaires()
        for reg in self.regions:
            out.extend(reg.resources)
        return out

    def patient(self, i: int) -> PatientData:
        """Patient `i` with everything around them."""
        return build(self.seed, i, self.regions[i % self.n_regions])

    def iter_patients(self, start: int = 0, stop: int | None = None) -> Iterator[PatientData]:
        """Patients start..stop-1."""
        for i in range(start, self.patients if stop is None else stop):
            yield self.patient(i)


def per_patient(seed: int = 1) -> tuple[float, float]:
    """Mean (resources, extra plan versions) per patient, measured on a sample."""
    sample = DemoSet(_SAMPLE, seed)
    pats = list(sample.iter_patients())
    res = sum(len(p.resources) for p in pats) / len(pats)
    versions = sum(len(r) for p in pats for r in p.revisions) / len(pats)
    return res, versions


def patients_for(resources: int, seed: int = 1) -> int:
    """How many patients give about `resources` current resources, directory included."""
    res, _ = per_patient(seed)
    staff = 2 * directory.STAFF_PER_REGION + len(directory.UNITS)
    per = res + staff / PATIENTS_PER_REGION
    return max(1, round(resources / per))


def sample_ids(data: DemoSet, count: int, seed: int = 7) -> list[PatientData]:
    """A reproducible random sample of patients (for benchmark targets)."""
    rng = random.Random(seed)
    picks = sorted(rng.sample(range(data.patients), min(count, data.patients)))
    return [data.patient(i) for i in picks]
