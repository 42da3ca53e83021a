"""The contract every :class:`~perturbo.protocols.Planner` meets, on the space it plans over.

Use it from a test module::

    from perturbo.testing.planner_contract import CONTRACT, MIXED
    @pytest.mark.parametrize("check", CONTRACT)
    def test_contract(check):
        check(lambda space, seed: MyPlanner(space, seed=seed, objective="value"), MIXED)

``make(space, seed)`` builds a fresh planner for ``bench.space`` (or ``bench.small``) that
maximises ``bench.objectives`` (for :data:`MULTI_OBJECTIVE`, ``make(space, seed,
directions=...)`` too). A planner over a space of its own (a kind's gene pool) gets a
:class:`~perturbo.testing.planner_benches.Bench` for it. Each check raises
``AssertionError`` with the reason when the planner breaks the contract.

The yardstick is Optuna's shipped sampler suite (``optuna/testing/pytest_samplers.py``).
Adopted, as perturbo's planners face them: ``test_float``/``test_int``/``test_categorical``
and the relative-sampler bounds and type checks (every proposal valid in the space, values
plain Python, not NumPy scalars: :func:`check_ask_valid`); ``test_conditional_sample_independent``
and ``test_conditional_parameter_objective`` (the conditional param present exactly where its
parent makes it active); ``test_combination_of_different_distributions_objective`` (the mixed
space: linear and log floats, ints, categoricals); ``test_partial_fixed_sampling``,
``test_sample_single_distribution`` and ``test_single_parameter_objective`` (a space whose only
free param is one float, the rest fixed: :func:`check_fixed_params`);
``test_nan_objective_value`` (NaN, inf, missing, failed, rejected and pruned outcomes told
without breaking it: :func:`check_bad_outcomes`); ``test_trial_relative_params`` with
``n_jobs=2`` (concurrent trials: here pending experiments are never proposed again,
:func:`check_pending_avoided`); ``test_multi_objective_sample_independent`` (valid proposals
under a max and a min objective: :data:`MULTI_OBJECTIVE`); ``SingleOnlySamplerTestCase`` (a
single-objective planner refuses two objectives: the caller's registry test). Not applicable:
``test_dynamic_range_objective`` (a campaign's space is fixed; a resume on another space is
refused before any planner is built), the step (``q``) distributions (perturbo's spaces have
none), ``best_value`` under NaN (a planner keeps no best value; the history does), and the
sampler-internal ``sample_relative``/``_relative_params`` calls (perturbo has ask/tell only).
Added beyond Optuna: seeded determinism, resume from a recorded history (the same planner
state: told configs never replayed, twins agree, outcomes still steer it, and, where the
planner promises it, exactly the original's next proposals), no repeats where each
experiment runs once, ``ask(0)``/``tell([])``, and for several objectives: each objective
steers the planner, each direction is honoured (``min`` on ``c`` = ``max`` on ``-c``), and
a planner's Pareto front is the non-dominated set of its history.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from perturbo.objective import pareto_set
from perturbo.space import SearchSpace
from perturbo.testing.planner_benches import (
    LEARN_BATCH,
    LEARN_ROUNDS,
    MIXED,
    TWO_OBJECTIVES,
    Bench,
    MakePlanner,
    fixed_space,
    mixed_space,
    negated,
    small_space,
    value,
)
from perturbo.testing.planner_benches import campaign as _campaign
from perturbo.testing.planner_benches import keys as _keys
from perturbo.testing.planner_benches import run_round as _run
from perturbo.testing.planner_benches import unique as _unique
from perturbo.types import (
    ExperimentSpec,
    Observation,
    Outcome,
    Status,
    failed,
    rejected,
)


def _plain(params: dict) -> None:
    """Values a store and JSON take as they are: Python scalars, not NumPy's (Optuna #393)."""
    for k, v in params.items():
        assert type(v) in (int, float, str, bool), f"param {k}={v!r} is a {type(v).__name__}"


def check_ask_valid(make: MakePlanner, bench: Bench = MIXED) -> None:
    """``ask(n)`` returns exactly ``n`` specs, valid in the space, of the bench's kind, named
    by their planner, their values plain Python scalars; a conditional param is absent where
    its parent makes it inactive."""
    space = bench.space
    planner, _, _ = _campaign(make, bench, seed=0, rounds=3)
    for n in (1, 4):
        specs = planner.ask(n, [])
        assert len(specs) == n, f"ask({n}) returned {len(specs)} specs"
        for s in specs:
            assert isinstance(s, ExperimentSpec)
            p = space.validate(s.params)  # raises InvalidSpec on a bad proposal
            _plain(dict(s.params))
            assert s.kind == bench.kind, f"kind {s.kind!r}, expected {bench.kind!r}"
            assert s.planner, "spec.planner must name the planner"
            if bench.conditional:
                child, parent, active = bench.conditional
                if p[parent] not in active:
                    assert child not in s.params, (
                        f"proposed {child}={s.params[child]!r} while {parent}={p[parent]!r} "
                        "makes it inactive"
                    )
                else:
                    assert child in p, f"{child} missing while {parent}={p[parent]!r}"


def check_fixed_params(make: MakePlanner, bench: Bench = MIXED) -> None:
    """Params with a single value (Float low == high, Int, one-choice Categorical) are
    proposed at that value, before and after the model has data (Optuna's partial-fixed and
    single-distribution cases). General spaces only."""
    if not isinstance(bench.space, SearchSpace):
        return
    fixed = Bench(fixed_space(), bench.kind, lambda p: {o: value(p) for o in bench.objectives})
    fixed = fixed.but(objectives=bench.objectives, directions=bench.directions)
    planner, history, _ = _campaign(make, fixed, seed=4, rounds=3)
    specs = [o.spec for o in history] + planner.ask(3, [])
    for s in specs:
        p = fixed.space.validate(s.params)
        assert (p["c"], p["k"], p["only"]) == (0.5, 3, "one"), f"fixed params moved: {p}"
        assert 0.0 <= p["x"] <= 1.0


def check_bad_outcomes(make: MakePlanner, bench: Bench = MIXED) -> None:
    """FAILED, REJECTED, NaN/inf and missing metrics are told without breaking the planner."""
    space = bench.space
    planner = make(space, 1)
    specs = planner.ask(6, [])
    assert len(specs) == 6
    nan = {o: math.nan for o in bench.objectives}
    half = {bench.objectives[0]: math.inf, **{o: 0.0 for o in bench.objectives[1:]}}
    good = bench.measure(space.validate(specs[5].params))
    obs = [
        Observation(specs[0].stamped("a", 0), failed("boom")),
        Observation(specs[1].stamped("b", 0), rejected("invalid")),
        Observation(specs[2].stamped("c", 0), Outcome(Status.COMPLETED, nan)),
        Observation(specs[3].stamped("d", 0), Outcome(Status.COMPLETED, half)),
        Observation(specs[4].stamped("e", 0), Outcome(Status.COMPLETED, {})),
        Observation(specs[5].stamped("f", 0), Outcome(Status.PRUNED, good, (-4.0, -3.0))),
        Observation(ExperimentSpec({"x": 99, "bogus": 1}, bench.kind, "g", 0), rejected("?")),
    ]
    planner.tell(obs)
    for r in range(1, 4):  # only bad news so far, then some good: keep proposing valid configs
        specs = planner.ask(3, [])
        assert len(specs) == 3, f"round {r}: ask(3) returned {len(specs)}"
        for s in specs:
            space.validate(s.params)
        planner.tell(_run(bench, space, specs, r))


def check_pending_avoided(make: MakePlanner, bench: Bench = MIXED) -> None:
    """No proposal repeats a pending config, or another proposal of the same batch. The
    pending configs are what a same-seed twin proposes next: what this planner would pick."""
    space = bench.space if bench.small is None else bench.small
    twin, _, _ = _campaign(make, bench, seed=2, rounds=1, batch=2, space=space)
    planner, _, _ = _campaign(make, bench, seed=2, rounds=1, batch=2, space=space)
    pending = [ExperimentSpec(dict(s.params), bench.kind) for s in twin.ask(4, [])]
    specs = planner.ask(4, pending)
    assert len(specs) == 4, f"ask(4) with 4 pending returned {len(specs)}"
    keys = _keys(space, specs)
    pend = set(_keys(space, pending))
    assert not pend & set(keys), f"proposed pending configs {sorted(pend & set(keys))}"
    assert len(set(keys)) == len(keys), f"duplicate proposals in one batch: {keys}"


def check_no_repeats(make: MakePlanner, bench: Bench = MIXED) -> None:
    """In a space whose experiments run once (``space.unique``: genes, pairs) nothing told is
    proposed again, failed and rejected ones included. Other spaces: nothing to check."""
    space = bench.space
    if not _unique(space):
        return
    planner, history, asked = _campaign(make, bench, seed=5, rounds=4)
    keys = [space.key(space.validate(p)) for batch in asked for p in batch]
    assert len(set(keys)) == len(keys), f"a config proposed twice: {keys}"
    specs = planner.ask(4, [])
    again = set(_keys(space, specs)) & set(keys)
    assert not again, f"proposed configs already told: {sorted(again)}"


def check_resume(make: MakePlanner, bench: Bench = MIXED) -> None:
    """A planner rebuilt from the recorded history (``tell(history)`` before its first ask)
    continues the campaign: two rebuilt with the same seed propose the same configs; those
    configs are not the ones a planner with no history proposes first (it uses the history,
    and does not replay the campaign's start); nothing told is proposed again in a unique
    space; pending configs are avoided; where the bench says so, it proposes exactly what the
    original planner would have."""
    space = bench.space
    original, history, asked = _campaign(make, bench, seed=3, rounds=3)
    rebuilt = []
    for _ in range(2):
        p = make(space, 3)
        p.tell(list(history))
        rebuilt.append(p)
    a = [dict(s.params) for s in rebuilt[0].ask(3, [])]
    b = [dict(s.params) for s in rebuilt[1].ask(3, [])]
    assert len(a) == 3, f"ask(3) after resume returned {len(a)}"
    assert a == b, f"two planners rebuilt from one history (seed 3) differ:\n{a}\n{b}"
    for params in a:
        space.validate(params)
    assert a != asked[0], f"the rebuilt planner replays the campaign's first proposals: {a}"
    if _unique(space):
        told = {space.key(o.spec.params) for o in history}
        again = {space.key(p) for p in a} & told
        assert not again, f"a rebuilt planner proposes told configs again: {sorted(again)}"
    if bench.resume_exact:
        nxt = [dict(s.params) for s in original.ask(3, [])]
        assert a == nxt, f"rebuilt planner proposes\n{a}\nthe original\n{nxt}"
    told = _run(bench, space, [ExperimentSpec(c, bench.kind) for c in a], 3)
    for p in rebuilt:
        p.tell(told)
    pending = [ExperimentSpec(dict(s.params), bench.kind) for s in rebuilt[1].ask(2, [])]
    specs = rebuilt[0].ask(2, pending)  # its twin's next proposals are running
    assert len(specs) == 2, f"ask(2) with 2 pending returned {len(specs)}"
    again = set(_keys(space, specs)) & set(_keys(space, pending))
    assert not again, f"after resume, proposed pending configs {sorted(again)}"


def check_seed_reproducible(make: MakePlanner, bench: Bench = MIXED) -> None:
    """Same seed, same history -> same proposals; another seed -> different ones (unless the
    bench says the planner's proposals do not depend on the seed)."""
    _, _, a = _campaign(make, bench, seed=7, rounds=3)
    _, _, b = _campaign(make, bench, seed=7, rounds=3)
    assert a == b, f"seed 7 gave different proposals:\n{a}\n{b}"
    if bench.seeded:
        _, _, c = _campaign(make, bench, seed=8, rounds=3)
        assert a != c, "seeds 7 and 8 gave identical proposals"


def check_tell_empty(make: MakePlanner, bench: Bench = MIXED) -> None:
    """``tell([])`` is a no-op and ``ask(0)`` returns nothing."""
    planner = make(bench.space, 0)
    planner.tell([])
    assert planner.ask(0, []) == []
    assert len(planner.ask(2, [])) == 2


def _rebuilt_ask(make: MakePlanner, bench: Bench, history: list[Observation], **kw: object) -> list:
    planner = make(bench.space, 6, **kw)
    planner.tell(history)
    return [dict(s.params) for s in planner.ask(3, [])]


def check_resume_uses_outcomes(make: MakePlanner, bench: Bench = MIXED) -> None:
    """A planner rebuilt from a history keeps what it learned from the outcomes, not only
    which configs ran: after :data:`LEARN_ROUNDS` rounds, the same history with one
    objective's values negated (its preference reversed) makes it propose otherwise, for
    each objective (several: each one steers it). Planners whose proposals ignore outcomes
    (``bench.learns`` False): nothing to check."""
    if not bench.learns:
        return
    _, history, _ = _campaign(make, bench, seed=6, rounds=LEARN_ROUNDS, batch=LEARN_BATCH)
    base = _rebuilt_ask(make, bench, history)
    for name in bench.objectives:
        other = _rebuilt_ask(make, bench, negated(history, [name]))
        assert other != base, (
            f"rebuilt from the history with {name!r} reversed, it proposes the same:\n{base}"
        )


def check_directions(make: MakePlanner, bench: Bench = TWO_OBJECTIVES) -> None:
    """Each objective's direction is honoured on its own: minimising ``c`` is maximising
    ``-c``, so a planner with the last objective's direction flipped and told the history
    with its values negated proposes exactly the same (same seed); where the planner
    reports a Pareto front it is the non-dominated set of what it was told."""
    _, history, _ = _campaign(make, bench, seed=6, rounds=LEARN_ROUNDS, batch=LEARN_BATCH)
    planner = make(bench.space, 6)
    planner.tell(history)
    a = [dict(s.params) for s in planner.ask(3, [])]
    last = bench.objectives[-1]
    flipped = (*bench.directions[:-1], "max" if bench.directions[-1] == "min" else "min")
    b = _rebuilt_ask(make, bench, negated(history, [last]), directions=flipped)
    assert a == b, f"{last} {bench.directions[-1]} and -{last} {flipped[-1]} differ:\n{a}\n{b}"
    front = getattr(planner, "pareto_front", None)
    if callable(front):
        want = pareto_set(history, bench.objectives, bench.directions)
        got = sorted(str(sorted(c.items())) for c, _ in front())
        assert got == sorted(str(sorted(o.spec.params.items())) for o in want), (
            f"pareto_front() is not the history's non-dominated set:\n{got}"
        )


CONTRACT: tuple[Callable[..., None], ...] = (
    check_ask_valid,
    check_fixed_params,
    check_bad_outcomes,
    check_pending_avoided,
    check_no_repeats,
    check_resume,
    check_resume_uses_outcomes,
    check_seed_reproducible,
    check_tell_empty,
)
"""Every check, each called as ``check(make, bench)``."""

MULTI_OBJECTIVE: tuple[Callable[..., None], ...] = (
    check_ask_valid,
    check_bad_outcomes,
    check_resume,
    check_resume_uses_outcomes,
    check_directions,
    check_seed_reproducible,
)
"""The checks a multi-objective planner passes on :data:`TWO_OBJECTIVES`."""

__all__ = [
    "CONTRACT",
    "LEARN_BATCH",
    "LEARN_ROUNDS",
    "MIXED",
    "MULTI_OBJECTIVE",
    "TWO_OBJECTIVES",
    "Bench",
    "MakePlanner",
    "check_ask_valid",
    "check_bad_outcomes",
    "check_directions",
    "check_fixed_params",
    "check_no_repeats",
    "check_pending_avoided",
    "check_resume",
    "check_resume_uses_outcomes",
    "check_seed_reproducible",
    "check_tell_empty",
    "fixed_space",
    "mixed_space",
    "small_space",
    "value",
]
