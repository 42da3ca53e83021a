"""The two pieces of a campaign's planning that are no planner of the registry's tables, under
contract too (issue 18): the :class:`~perturbo.pinned.Pinned` wrapper ``--pin`` puts around a
planner (:mod:`perturbo.testing.pinned_contract`: pins first, then the inner planner; resume;
and the planner contract's checks that hold with pins queued), over general-space and gene
planners; and ASHA's rung keeper (:mod:`perturbo.testing.asha_contract`), in-process and
through the handle the workers share."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from test_contract import SUBJECTS, _gene_knowledge  # noqa: F401 - the autouse fixture

from perturbo.actors.rungs import SharedRungs
from perturbo.search.asha import ASHA, trials_of
from perturbo.testing.asha_contract import ASHA_CONTRACT, MakeRungs
from perturbo.testing.pinned_contract import PINNED, PINNED_PLANNER, pinned
from perturbo.types import Observation

INNER = ("random", "sobol", "optuna-tpe", "gene-random", "pair-random")
"""Inner planners of the wrapper: general-space (seeded, a learning sampler) and the gene and
pair pools (spaces whose experiments run once, where a tested pin is refused)."""


def _cases(checks: Sequence[Callable[..., None]]) -> list[Any]:
    return [pytest.param(n, c, id=f"{n}-{c.__name__}") for n in INNER for c in checks]


@pytest.mark.parametrize(("inner", "check"), _cases(PINNED))
def test_pinned_contract(inner: str, check: Callable[..., None]) -> None:
    make, bench = SUBJECTS[inner]
    check(make, bench)


@pytest.mark.parametrize(("inner", "check"), _cases(PINNED_PLANNER))
def test_pinned_is_a_planner(inner: str, check: Callable[..., None]) -> None:
    make, bench = SUBJECTS[inner]
    check(pinned(make, bench.kind), bench)


class _InProcess(ASHA):
    """:class:`ASHA` seeded from recorded observations, as the contract hands them."""

    def seed(self, history: Sequence[Observation]) -> int:  # type: ignore[override]
        return super().seed(trials_of(history))


def _shared(max_epochs: int, min_epochs: int, eta: float, direction: str) -> SharedRungs:
    return SharedRungs(f"contract-{uuid.uuid4().hex[:8]}", max_epochs, min_epochs, eta, direction)


KEEPERS: dict[str, MakeRungs] = {"asha": _InProcess, "shared-rungs": _shared}


@pytest.mark.parametrize(
    ("keeper", "check"),
    [pytest.param(k, c, id=f"{k}-{c.__name__}") for k in KEEPERS for c in ASHA_CONTRACT],
)
def test_asha_contract(keeper: str, check: Callable[[MakeRungs], None]) -> None:
    check(KEEPERS[keeper])
