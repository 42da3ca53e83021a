"""How often a planner's GP refits its hyperparameters: every ``every`` observations, not on
every ask.

Fitting the hyperparameters (lengthscales, output scale, noise) by maximum marginal
likelihood is most of a ``bo`` proposal's time: ~0.8 of its ~1.3 CPU s at 200 observations
on the mixed 6-D space of ``benchmarks/planner_time.py``, asked for one proposal with three
pending, as the asynchronous schedule (the hyperparameter kind's default) asks each time a
worker frees. A round of four (the synchronous schedule, and the hyperparameter benchmark)
shares one fit among its four proposals; asked one at a time, each proposal paid for a fit
of its own, after one more observation.

So the hyperparameters are fitted at the multiples of ``every`` observations (and at every
count below ``2 * every``, where fits are cheap and the data change most); in between, the GP
is built on *all* the observations with the hyperparameters fitted on the first ``m``, the
last multiple (conditioning on the new points, no optimisation); asked again with no new
observation, it reuses the fit it has. Each proposal still sees every observation; only its
hyperparameters may be up to ``every - 1`` observations old, as the last proposals of a
round of ``every`` are in the synchronous schedule.

The hyperparameters reused are a function of the first ``m`` observations in the order told:
fitted in a random stream seeded by ``m``, or kept from an ask at exactly ``m`` observations
whose fit drew no random numbers (then any seed gives that fit). So a planner rebuilt from
the recorded history (resume) reuses the same hyperparameters as the original, whenever the
original asked. An ask at a multiple of ``every`` (or below ``2 * every``) fits exactly as
before, in the ask's own random stream: a run in rounds of 4 proposes what it did before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["HyperparameterCache", "hyperparameters"]

Build = Callable[..., Any]
"""``build(X, Y)``: the fitted GP; ``build(X, Y, hyper)``: the same GP with ``hyper`` loaded."""


def hyperparameters(model: Any) -> dict[str, Any]:
    """A fitted model's hyperparameters (its state, less the outcome transform's statistics
    of the data it was fitted on: a model on more data standardises by its own)."""
    return {
        k: v.detach().clone()
        for k, v in model.state_dict().items()
        if not k.startswith("outcome_transform.")
    }


def load(model: Any, hyper: dict[str, Any]) -> Any:
    """``model`` with ``hyper`` loaded, in eval mode (as a fit leaves it)."""
    model.load_state_dict(hyper, strict=False)
    model.eval()
    return model


class HyperparameterCache:
    """The hyperparameters of the last fit, and when to fit again (module docstring)."""

    def __init__(self, every: int, seed: int) -> None:
        if every < 1:
            raise ValueError(f"refit_every must be >= 1, not {every}")
        self.every, self.seed = every, seed
        self._at: int | None = None  # observations the cached fit saw
        self._hyper: dict[str, Any] | None = None
        self.reused = False  # the last model was built with cached hyperparameters

    def anchor(self, n: int) -> int:
        """The observation count whose fit a model on ``n`` observations uses."""
        if self.every == 1 or n < 2 * self.every:
            return n
        return n - n % self.every

    def model(self, X: Any, Y: Any, y_of: Callable[[int], Any], build: Build) -> Any:
        """A GP on all of ``X`` (rows in the order told) and ``Y`` (their training targets);
        ``y_of(m)`` is the targets of the first ``m`` observations as the planner would have
        made them with only those (for a fit on fewer than all)."""
        import torch

        n = len(X)
        m = self.anchor(n)
        if m == n and self._at == n:  # asked again on the same observations
            self.reused = True
            return build(X, Y, self._hyper)
        if m == n:  # fitted as before, in the caller's random stream
            self.reused = False
            state = torch.get_rng_state()
            model = build(X, Y)
            if torch.equal(state, torch.get_rng_state()):  # drew nothing: any seed's fit
                self._at, self._hyper = n, hyperparameters(model)
            return model
        if self._at != m:
            # seeded by the count, not by the ask: the same fit whenever (and after a resume)
            with torch.random.fork_rng():
                torch.manual_seed(self.seed * 100_003 + m)
                fitted = build(X[:m], y_of(m))
            self._at, self._hyper = m, hyperparameters(fitted)
        self.reused = True
        return build(X, Y, self._hyper)
