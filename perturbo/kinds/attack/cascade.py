"""The cascade planner: wraps any planner so later budget goes to the samples still robust
(see :mod:`.space` for the cascade, :mod:`.escalate` for the cost ladder and the neighbours).

On resume the planner is told the whole recorded history at once, before it is asked
anything: it replays it round by round (as the live campaign told it), so the worst case,
the ladder, the stretch of stop-when-done, the opening already run and the rungs whose
neighbour configs already ran are what they were when the campaign stopped
(:meth:`CascadePlanner.tell`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from perturbo.kinds.attack.escalate import OPENING_NOTE, fit_config
from perturbo.kinds.attack.samples import WorstCase, decode_mask
from perturbo.kinds.attack.space import _EXTRA, CLIMB_CONFIGS, PASS_BUDGET, RUNG, SAMPLES, _strip
from perturbo.types import ExperimentSpec, Observation, Status

__all__ = ["CascadePlanner"]


class CascadePlanner:
    """Wraps ``inner``: proposals get the still-robust mask (and, under ``max_passes``, the
    passes each may spend); ``inner`` never sees either. Proposes nothing, so the campaign
    ends, and says why in :attr:`stopped_by`, once

    - every sample is broken;
    - ``max_passes`` leaves too little for another config: the passes told so far plus the
      budgets of those in flight never exceed it, and a trial's attack stops itself at its
      budget (:attr:`~perturbo.kinds.attack.model.CountingModel.limit`), so the campaign's
      total stays <= ``max_passes`` however many run at once;
    - ``stop_when_done``: the worst case has not improved over a stretch of configs that
      spent ``patience`` times the passes that reached it. The stretch is a budget like
      ``max_passes``: configs proposed after an improvement share what is left of it (each
      stops itself at its share), so a campaign that stops at its best after ``P`` passes
      ends by ``(1 + patience) P`` however heavy the configs its planner picks (the
      doubling argument: never more than ``1 + patience`` times what the campaign needed,
      whenever its last improvement comes). Before the first improvement no stretch runs.
      Under a ``ladder`` (:mod:`.escalate`) the stretch also holds one climb: a config of
      the rung above the one that last broke a sample, on the samples still standing.
    """

    def __init__(
        self,
        inner: Any,
        worst: WorstCase,
        cascade: bool = True,
        max_passes: float | None = None,
        *,
        stop_when_done: bool = False,
        patience: float = 0.5,
        opening: Sequence[Mapping[str, Any]] = (),
        ladder: Any = None,
    ) -> None:
        self.inner = inner
        self.ladder = ladder
        """A :class:`~.escalate.Ladder`: every config is fitted to its rung, each climb first
        targets the standing samples with their neighbours' configs (None: as proposed)."""
        self.worst = worst
        self.cascade = cascade
        self.max_passes = max_passes
        self.stop_when_done = stop_when_done
        self.patience = patience
        self._opening = [dict(p) for p in opening]
        self.passes = 0.0
        self.stopped_by: str | None = None
        self.passes_at_best = 0.0
        self.trials_since_best = 0
        self._n_broken = 0
        self._counted: set[str] = set()
        self._asked = False  # a tell before the first ask is a resume's replay
        self.name = getattr(inner, "name", "planner")

    def _reserved(self, pending: Sequence[ExperimentSpec]) -> float:
        return float(sum(int(s.params.get(PASS_BUDGET, 0) or 0) for s in pending))

    def _reason(self, pending: Sequence[ExperimentSpec]) -> str | None:
        w = self.worst
        if self.cascade and w.attacked.all() and not w.robust.any():
            return "every sample broken: worst-case robust accuracy 0"
        if self.max_passes is not None:
            free = self.max_passes - self.passes - self._reserved(pending)
            if free < self._min_useful():
                return (
                    f"pass budget spent: {self.passes:,.0f} passes done and "
                    f"{self._reserved(pending):,.0f} held by running configs of "
                    f"--max-passes {self.max_passes:,.0f}"
                )
        stretch = self._stretch_free(pending)
        if stretch is not None and self.trials_since_best > 0 and stretch < self._min_useful():
            since = self.passes - self.passes_at_best
            up = self.ladder.climb if self.ladder is not None else 0.0
            climb = f" plus {up:,.0f} for a climb of the ladder" if up else ""
            return (
                f"done: no sample broken in the last {self.trials_since_best} configs "
                f"({since:,.0f} passes, {since / max(self.passes_at_best, 1):.2f}x the "
                f"{self.passes_at_best:,.0f} that reached the worst case; the stretch is "
                f"{self.patience:g}x{climb}); --no-stop-when-done runs the whole budget"
            )
        return None

    def _stretch_free(self, pending: Sequence[ExperimentSpec]) -> float | None:
        """What is left of the stretch without improvement (``None``: no stretch runs)."""
        if not self.stop_when_done or self.passes_at_best <= 0:
            return None
        since = self.passes - self.passes_at_best
        lad = self.ladder
        if lad is None or lad.rung <= lad.rung_best:
            return self.patience * self.passes_at_best - since - self._reserved(pending)
        # climbed: what the configs above the best's rung spent, against the climb's share
        high = [s for s in pending if int(s.params.get(RUNG, 0)) > lad.rung_best]
        return lad.climb - lad.spent_above() - self._reserved(high)

    def _standing(self) -> int:
        return int(self.worst.robust.sum()) if self.worst.attacked.any() else self.worst.n

    def _min_useful(self) -> float:
        """A few gradient steps (5: the shortest APGD run, see :func:`.attacks.fit_steps`),
        their start and the final check, on every sample still standing."""
        return 15.0 * max(1, self._standing())

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        self._asked = True
        if self.stopped_by is None:
            self.stopped_by = self._reason(pending)
            if self.stopped_by is not None:
                from perturbo.progress import phase

                phase(f"  attack campaign ends: {self.stopped_by}")
        if self.stopped_by is not None:
            return []
        bare = [
            replace(s, params={k: v for k, v in s.params.items() if k not in _EXTRA})
            for s in pending
        ]
        first = [
            ExperimentSpec(p, "attack", planner="opening", note=OPENING_NOTE)
            for p in self._opening[: 1 if self.ladder is not None else n]
        ]  # under the ladder one at a time: each faces what the one before left standing
        del self._opening[: len(first)]
        near = self._neighbours(n) if not first else []
        # the opening runs alone: the planner's configs then face only what it left standing
        rest = self.inner.ask(n - len(near), bare) if not first and n > len(near) else []
        specs = first + near + [replace(s, kind="attack") for s in rest]
        if self.ladder is not None:  # fitted to the rung; the neighbours' were grown to it
            specs = [
                s
                if RUNG in s.params
                else replace(s, params={**self.ladder.fit(s.params), RUNG: self.ladder.rung})
                for s in specs
            ]
        extra: dict[str, Any] = {}
        if self.cascade:
            extra[SAMPLES] = self.worst.still_robust_mask
        useful = self._min_useful()
        limits = []
        if (stretch := self._stretch_free(pending)) is not None:
            limits.append(max(stretch, useful))  # at least one config's step, right after a gain
        if self.max_passes is not None:  # a hard limit: >= useful here, or _reason stopped
            limits.append(self.max_passes - self.passes - self._reserved(pending))
        if limits and specs:  # equal shares of the n asked for, each >= what a few steps need
            free = max(0.0, min(limits))
            if self.ladder is not None:  # a shorter config on every sample, not a cut-off one
                specs = self._shares(specs, free, useful)
            else:
                share = max(1, min(n, int(free // useful)))
                specs = specs[:share]
                extra[PASS_BUDGET] = int(free // share)
        own = (SAMPLES, PASS_BUDGET)  # a neighbour group's samples, a config's own budget
        return [
            replace(
                s, params={**s.params, **extra, **{k: s.params[k] for k in own if k in s.params}}
            )
            for s in specs
        ]

    def _shares(
        self, specs: Sequence[ExperimentSpec], free: float, useful: float
    ) -> list[ExperimentSpec]:
        """Under the ladder: as many configs as ``free`` passes hold at the rung, a config
        on a neighbour group weighing its share of the standing samples; each gets its part
        of ``free``, at most a rung's worth (what it holds others cannot start on), and is
        fitted to it."""
        standing = max(1, self._standing())
        unit = max(useful, (self.ladder.per_sample + 1) * standing)  # a rung's config, checked
        units = max(1.0, float(free // unit))
        weights = [self._samples(s) / standing for s in specs]
        keep, total = 0, 0.0
        while keep < len(specs) and (keep == 0 or total + weights[keep] <= units + 1e-9):
            total += weights[keep]
            keep += 1
        out = []
        for s, w in zip(specs[:keep], weights[:keep], strict=True):
            budget, m = int(min(free * w / total, w * unit)), self._samples(s)  # no hoarding
            # what the budget buys on every sample it attacks, less the final check's forward
            per = (budget - m) / max(1, m)
            fitted = fit_config(s.params, per, max_targets=self.ladder.max_targets)
            out.append(replace(s, params={**s.params, **fitted, PASS_BUDGET: budget}))
        return out

    def _samples(self, spec: ExperimentSpec) -> int:
        """How many samples ``spec`` attacks (its own mask, else every standing one)."""
        mask = spec.params.get(SAMPLES)
        if mask is None:
            return self._standing()
        return int(decode_mask(str(mask), self.worst.n).sum())

    def _neighbours(self, n: int) -> list[ExperimentSpec]:
        """Once per climb of the ladder: the standing samples, grouped by what broke their
        nearest broken neighbours, each group attacked with it at the new rung."""
        lad = self.ladder
        if lad is None or not self.cascade:
            return []
        from perturbo.kinds.attack.samples import encode_mask

        return [
            ExperimentSpec(
                {**p, SAMPLES: encode_mask(mask), RUNG: lad.rung},
                "attack",
                planner="neighbours",
                note=f"what broke the nearest broken neighbours of {int(mask.sum())} standing "
                f"samples, grown to rung {lad.rung}",
            )
            for p, mask in lad.neighbours(self.worst, n)
        ]

    def tell(self, observations: Sequence[Observation]) -> None:
        if not self._asked and observations:  # resume: the recorded history, replayed
            self._replay(observations)
        else:
            self._update(observations)
        self.inner.tell([_strip(o) for o in observations])

    def _replay(self, history: Sequence[Observation]) -> None:
        """Rebuild the state the campaign stopped with: told round by round, as it ran (the
        stretch restarts at the last improvement, not at the resume); the opening configs
        already proposed are not proposed again, nor the neighbour configs of a rung that
        already had them."""
        start = 0
        for i in range(1, len(history) + 1):
            if i == len(history) or history[i].spec.round != history[start].spec.round:
                self._update(history[start:i])
                start = i
        del self._opening[: sum(o.spec.planner == "opening" for o in history)]
        if self.ladder is not None:
            rungs = [
                int(o.spec.params.get(RUNG, 0)) for o in history if o.spec.planner == "neighbours"
            ]
            self.ladder.neighbours_ran(max(rungs, default=0))

    def _update(self, observations: Sequence[Observation]) -> None:
        lad, best_rung = self.ladder, 0
        for o in observations:  # one at a time: did this config break anything new?
            before = int(self.worst.attacked.sum() - self.worst.robust.sum())
            self.worst.update([o])
            gained = int(self.worst.attacked.sum() - self.worst.robust.sum()) > before
            if lad is not None and o.outcome.status is Status.COMPLETED:
                lad.params_of[o.spec.id] = dict(_strip(o).spec.params)
                if RUNG in o.spec.params:
                    lad.told(int(o.spec.params[RUNG]), gained)
                if gained:
                    best_rung = int(o.spec.params.get(RUNG, lad.rung))
        for o in observations:
            if o.spec.id not in self._counted and o.outcome.status is not Status.REJECTED:
                self._counted.add(o.spec.id)
                v = o.outcome.metrics.get("passes", 0.0)
                v = float(v) if v == v else 0.0
                self.passes += v
                if lad is not None:
                    lad.observe(o.spec.params, v)
                self.trials_since_best += 1
        broken = int(self.worst.attacked.sum() - self.worst.robust.sum())
        if broken > self._n_broken:
            self._n_broken = broken
            self.passes_at_best, self.trials_since_best = self.passes, 0
            if lad is not None:
                lad.improved(best_rung, int(self.worst.robust.sum()), CLIMB_CONFIGS)

    def __getattr__(self, name: str) -> Any:  # last_trace and the like
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
