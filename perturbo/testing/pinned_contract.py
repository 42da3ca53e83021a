"""The contract of :class:`~perturbo.pinned.Pinned`, the wrapper ``--pin`` puts around a
campaign's planner: the experiments a person named come first, then the inner planner's.

Use it with any planner factory of the planner contract (:mod:`perturbo.testing.planner_contract`)::

    from perturbo.testing.pinned_contract import PINNED, PINNED_PLANNER, pinned
    @pytest.mark.parametrize("check", PINNED)
    def test_pinned(check):
        check(make_inner, MIXED)                 # the wrapper's own promises
    @pytest.mark.parametrize("check", PINNED_PLANNER)
    def test_pinned_is_a_planner(check):
        check(pinned(make_inner, "toy"), MIXED)  # the planner contract, pins queued

What applies of the planner contract to the wrapper with pins queued: valid proposals, fixed
params, bad outcomes, pending configs avoided, no repeats, seeded determinism, ``ask(0)``.
Not its resume checks: a rebuilt campaign's pins are checked against what ran
(:func:`~perturbo.pinned.check_pins`) and then queued afresh, so they are replayed on purpose;
:func:`check_pinned_resume` holds that path instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from perturbo.pinned import USER, Pinned, check_pins
from perturbo.protocols import Planner
from perturbo.testing.planner_benches import MIXED, Bench, MakePlanner
from perturbo.testing.planner_benches import campaign as _campaign
from perturbo.testing.planner_benches import keys as _keys
from perturbo.testing.planner_benches import run_round as _run
from perturbo.testing.planner_benches import unique as _unique
from perturbo.testing.planner_contract import (
    check_ask_valid,
    check_bad_outcomes,
    check_fixed_params,
    check_no_repeats,
    check_pending_avoided,
    check_seed_reproducible,
    check_tell_empty,
)
from perturbo.types import ExperimentSpec, Observation, PerturboError

PIN_SEED = 99
"""The seed of the planner whose proposals serve as the person's pins (any valid configs)."""


def pins_for(make: MakePlanner, space: Any, n: int, history: Sequence[Observation] = ()) -> list:
    """``n`` valid configs of ``space`` for a person to pin: another planner's proposals, none
    of them told in ``history``."""
    planner = make(space, PIN_SEED)
    planner.tell(list(history))
    return [dict(s.params) for s in planner.ask(n, [])]


def pinned(make: MakePlanner, kind: str, n: int = 2) -> MakePlanner:
    """A planner factory: ``make``'s planner inside :class:`Pinned` with ``n`` pins queued."""

    def wrapped(space: Any, seed: int, **kw: Any) -> Planner:
        return Pinned(make(space, seed, **kw), pins_for(make, space, n), kind)

    return wrapped


def _params(specs: Sequence[ExperimentSpec]) -> list[dict]:
    return [dict(s.params) for s in specs]


def _as_pending(params: Sequence[dict], kind: str) -> list[ExperimentSpec]:
    return [ExperimentSpec(dict(p), kind) for p in params]


def _check_theirs(specs: Sequence[ExperimentSpec], pins: Sequence[dict], kind: str) -> None:
    assert _params(specs) == list(pins), f"pins not proposed first, in order: {_params(specs)}"
    for s in specs:
        assert (s.planner, s.kind) == (USER, kind), f"a pin not marked the user's: {s}"
        assert s.note, "a pin carries the person's note"


def check_pins_first(make: MakePlanner, bench: Bench = MIXED) -> None:
    """The pins come first, in order, marked ``planner="user"``, across as many asks as they
    take; the rest of a batch is exactly what the inner planner proposes with the batch's pins
    pending beside the caller's (so never a pin again: the pins are what the inner planner
    would have proposed itself); every outcome reaches the inner planner, and once the pins
    are spent the wrapper proposes exactly what the bare planner does."""
    space = bench.space if bench.small is None else bench.small
    pins = [dict(s.params) for s in make(space, 0).ask(3, [])]  # the inner planner's own picks
    wrapped, bare = Pinned(make(space, 0), pins, bench.kind), make(space, 0)
    first = wrapped.ask(2, [])
    _check_theirs(first, pins[:2], bench.kind)
    assert wrapped.queued == pins[2:], f"the third pin is not left queued: {wrapped.queued}"
    second = wrapped.ask(3, first)  # the first two pins are running
    _check_theirs(second[:1], pins[2:], bench.kind)
    rest = _params(second[1:])
    want = _params(bare.ask(2, _as_pending(pins, bench.kind)))
    assert rest == want, f"after the pins it proposes\n{rest}\nthe inner planner\n{want}"
    again = set(_keys(space, second[1:])) & set(_keys(space, _as_pending(pins, bench.kind)))
    assert not again, f"a pin proposed again: {sorted(again)}"
    assert len(set(_keys(space, second))) == 3, f"duplicates in one batch: {_params(second)}"
    told = _run(bench, space, [*first, *second], 0)
    wrapped.tell(told)
    bare.tell(told)
    a, b = _params(wrapped.ask(3, [])), _params(bare.ask(3, []))
    assert a == b, f"pins spent and told, the wrapper proposes\n{a}\nthe bare planner\n{b}"


def check_pinned_resume(make: MakePlanner, bench: Bench = MIXED) -> None:
    """A resumed campaign with pins: a pin the campaign already tested is refused in one
    :class:`~perturbo.types.PerturboError` where each experiment runs once; new pins come first
    from the planner rebuilt from the history, then exactly what that planner proposes with
    them pending (the history reaches it through the wrapper too)."""
    space = bench.space
    _, history, asked = _campaign(make, bench, seed=3, rounds=2)
    if _unique(space):
        try:
            check_pins([asked[0][0]], space, bench.kind, history)
        except PerturboError as e:
            assert "already tested" in str(e), e
        else:
            raise AssertionError(f"a pin already tested was accepted: {asked[0][0]}")
    pins = check_pins(pins_for(make, space, 2, history), space, bench.kind, history)
    wrapped = Pinned(make(space, 3), pins, bench.kind)
    wrapped.tell(list(history))
    twin = make(space, 3)
    twin.tell(list(history))
    got = wrapped.ask(4, [])
    _check_theirs(got[:2], pins, bench.kind)
    want = _params(twin.ask(2, _as_pending(pins, bench.kind)))
    assert _params(got[2:]) == want, f"resumed, it proposes\n{_params(got[2:])}\nnot\n{want}"


PINNED: tuple[Callable[..., None], ...] = (check_pins_first, check_pinned_resume)
"""The wrapper's own checks, each called as ``check(make_inner, bench)``."""

PINNED_PLANNER: tuple[Callable[..., None], ...] = (
    check_ask_valid,
    check_fixed_params,
    check_bad_outcomes,
    check_pending_avoided,
    check_no_repeats,
    check_seed_reproducible,
    check_tell_empty,
)
"""The planner contract's checks that hold for the wrapper with pins queued, each called as
``check(pinned(make_inner, kind), bench)``."""

__all__ = [
    "PINNED",
    "PINNED_PLANNER",
    "PIN_SEED",
    "check_pinned_resume",
    "check_pins_first",
    "pinned",
    "pins_for",
]
