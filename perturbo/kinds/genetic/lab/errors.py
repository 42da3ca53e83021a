"""The one error type of the lab inputs (library, gene lists, hit rule, results)."""

from __future__ import annotations

from perturbo.types import PerturboError

__all__ = ["LabInputError"]


class LabInputError(PerturboError):
    """A lab input a user can fix: one line naming the input (file, flag) and the fix. The CLI
    prints it and exits 2; nothing is recorded."""
