"""Per-assignment grading limits: defaults, overridden by the source notebook's metadata.

An assignment whose reference is heavier (a ResNet, CTC, an NTM) can raise its limits in the
source notebook's metadata, for example::

    "metadata": {"s30kit": {"limits": {"call_budget_s": 120, "memory_mb": 6144}}}

Unknown keys are an authoring error and are refused, so a typo cannot silently do nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields, replace

from autograder.intake import read_notebook_file
from autograder.registry import source_notebook
from autograder.sandbox import Limits


@dataclass(frozen=True)
class GradingLimits:
    """What one submission may spend.

    Attributes:
        call_budget_s: total seconds of calls into the student's code per submission.
        call_timeout_s: default seconds one call may take (a test may ask for more).
        load_timeout_s: seconds for the student's cells to load.
        memory_mb: the worker's address-space limit.
        cpu_s: the worker's CPU-time limit.
        grade_timeout_s: seconds ``grade-all`` waits for one submission's grading process.
    """

    call_budget_s: float = 60.0
    call_timeout_s: float = 10.0
    load_timeout_s: float = 10.0
    memory_mb: int = 4096
    cpu_s: int = 300
    grade_timeout_s: float = 900.0

    def sandbox(self) -> Limits:
        """The worker's resource limits."""
        return replace(
            Limits(), cpu_seconds=int(self.cpu_s), address_space=int(self.memory_mb) * 1024**2
        )


DEFAULTS = GradingLimits()


class LimitsError(ValueError):
    """The notebook's ``s30kit.limits`` metadata is malformed (an authoring error)."""


def from_metadata(metadata: dict) -> GradingLimits:
    """The limits a notebook's metadata asks for (``metadata["s30kit"]["limits"]``).

    Raises:
        LimitsError: an unknown key, or a value that is not a positive number.
    """
    asked = ((metadata or {}).get("s30kit") or {}).get("limits") or {}
    if not isinstance(asked, dict):
        raise LimitsError("metadata s30kit.limits must be a mapping")
    known = {f.name: f.type for f in fields(GradingLimits)}
    unknown = sorted(set(asked) - set(known))
    if unknown:
        raise LimitsError(f"unknown key(s) in s30kit.limits: {unknown} (known: {sorted(known)})")
    values = {}
    for key, value in asked.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise LimitsError(f"s30kit.limits.{key} must be a positive number, not {value!r}")
        values[key] = int(value) if known[key] == "int" else float(value)
    return replace(DEFAULTS, **values)


@functools.cache
def for_assignment(assignment: str) -> GradingLimits:
    """The limits of ``assignment``: its source notebook's metadata over the defaults.

    Raises:
        LimitsError: the metadata is malformed.
    """
    nb = read_notebook_file(source_notebook(assignment))
    return from_metadata(nb.get("metadata") or {})
