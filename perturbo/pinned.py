"""Human in the loop: experiments a person names run first, marked as theirs.

:class:`Pinned` wraps a campaign's planner: the next ``ask`` proposes the pinned params first
(``planner="user"``, with the person's note), then fills the rest of the batch from the planner,
which is told of the pinned ones as pending so it does not repeat them. Every outcome reaches
the planner through ``tell`` as usual, so it learns from what the person chose, and the record
says who chose each experiment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.protocols import Planner
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, PerturboError, Status

USER = "user"


def check_pins(
    params: Sequence[Mapping[str, Any]],
    space: Any,
    kind: str,
    history: Sequence[Observation] = (),
    *,
    stop: Any = None,
    batch: int | None = None,
) -> list[dict[str, Any]]:
    """Each ``--pin``, validated by the campaign's ``space`` before anything runs: a pin the
    campaign cannot run (a gene not in the screen, another kind's params, an experiment already
    tested where each runs once, the same pin twice) is a :class:`PerturboError` naming it,
    never a proposal quietly rejected among the campaign's records. Given the campaign's
    ``stop`` rule (and ``batch``), more pins than its budget has room for (after ``history``)
    are refused too (:func:`check_pin_budget`), never dropped without a word."""
    import json

    seen: set[str] = set()
    unique = bool(getattr(space, "unique", False))
    if unique:
        seen = {
            space.key(o.spec.params) for o in history if o.outcome.status is not Status.REJECTED
        }
    out: list[dict[str, Any]] = []
    mine: set[str] = set()
    for p in params:
        shown = json.dumps(dict(p), default=str)
        try:
            valid = space.validate(dict(p))
        except InvalidSpec as e:
            raise PerturboError(
                f"--pin {shown} is not an experiment of this {kind} campaign ({e}); pin the "
                f"params its experiments take (`perturbo run {kind} --help`)"
            ) from None
        key = space.key(valid)
        if key in mine and unique:
            raise PerturboError(f"--pin {shown} is given twice; pin each experiment once")
        if key in seen:
            raise PerturboError(
                f"--pin {shown}: this campaign already tested it and runs each experiment "
                "once; drop that --pin (`perturbo show` lists what ran)"
            )
        mine.add(key)
        out.append(valid)
    if stop is not None:
        check_pin_budget(len(out), stop, batch, history)
    return out


def check_pin_budget(
    n_pins: int, stop: Any, batch: int | None = None, history: Sequence[Observation] = ()
) -> None:
    """Refuse ``n_pins`` pinned experiments that the campaign's budget (``stop``: a
    :class:`~perturbo.campaign.StopRule`; its ``max_experiments`` as ``--trials``, its
    ``rounds`` of ``batch`` as ``--rounds``), less what ``history`` ran, has no room for: the
    pins past it would never run. A :class:`PerturboError` naming the counts and the fix."""
    ran = sum(o.outcome.status is not Status.REJECTED for o in history)
    done_rounds = max((o.spec.round for o in history), default=-1) + 1
    trials = getattr(stop, "max_experiments", None)
    if trials is not None and n_pins > trials - ran:
        _refuse(n_pins, "trials", trials, max(0, trials - ran), ran + n_pins, ran, "experiments")
    rounds = getattr(stop, "rounds", None)
    if rounds is not None and batch and n_pins > (rounds - done_rounds) * batch:
        need = done_rounds + -(-n_pins // batch)
        room = max(0, (rounds - done_rounds) * batch)
        _refuse(n_pins, "rounds", rounds, room, need, done_rounds, "rounds", batch)


def _refuse(
    n: int, flag: str, value: int, room: int, need: int, done: int, what: str, batch: int = 0
) -> None:
    from perturbo.types import counted

    size = f" (batch {batch})" if batch else ""
    recorded = f" with {counted(done, what)} recorded" if done else ""
    raise PerturboError(
        f"{counted(n, '--pin experiments')} for a campaign of --{flag} {value}{size}{recorded}, "
        f"which has room for {room}{' more' if done else ''}: the rest would never run; raise "
        f"--{flag} to {need}, or drop {n - room} --pin"
    )


class Pinned:
    """``planner`` with ``params`` queued in front of its proposals (see the module docstring)."""

    def __init__(
        self,
        planner: Planner,
        params: Sequence[Mapping[str, Any]],
        kind: str,
        note: str = "named by the user",
    ) -> None:
        self.inner = planner
        self.name = getattr(planner, "name", "planner")
        self.kind = kind
        self.note = note
        self._queue = [dict(p) for p in params]

    @property
    def queued(self) -> list[dict[str, Any]]:
        return [dict(p) for p in self._queue]

    def __getattr__(self, attr: str) -> Any:  # last_trace and other planner extras
        return getattr(self.inner, attr)

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        take, self._queue = self._queue[:n], self._queue[n:]
        mine = [ExperimentSpec(p, self.kind, planner=USER, note=self.note) for p in take]
        rest = self.inner.ask(n - len(mine), [*pending, *mine]) if n > len(mine) else []
        return mine + list(rest)

    def tell(self, observations: Sequence[Observation]) -> None:
        self.inner.tell(observations)


__all__ = ["USER", "Pinned", "check_pin_budget", "check_pins"]
