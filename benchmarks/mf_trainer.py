"""The multi-fidelity benchmark's tasks and its cost ledger (``benchmarks/multi_fidelity.py``).

:class:`Trainer` trains a built-in task's configs lazily, epoch by epoch as methods ask, through
the task's own continuation (:class:`~perturbo.kinds.hyperparameter.tasks.TorchTask` keeps a
run's state, so a longer run of a config continues a shorter one with the values a run from
scratch gives): every method on a seed reads the same per-epoch ``val_loss`` curves, and a
config is trained once however many methods ask for it. What a method *pays* is
:class:`Spend`'s business, not the trainer's.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

TASKS = {  # task -> epochs of a full training (the fidelity's top)
    "breast_cancer-mlp": 27,  # the development task: mf-bo's settings were chosen on it
    "wine-mlp": 27,  # held out: fixed before any tuning, never tuned on
    "iris-mlp": 27,
    "digits-cnn": 9,  # its own default (a CNN epoch costs ~25x an MLP's here)
    "digits-mlp": 27,  # added 2026-12-06 as the held-out task of mf-bo's maxiter protocol
    "synth-mlp": 27,  # benchmark-only (not a product task), held out for the promotion rule
    "synth2-mlp": 27,  # benchmark-only, held out for the ladder protocol (session 15)
}
DEV_TASK = "breast_cancer-mlp"
KEEP = 32  # TorchTask.keep_states: the runs a trainer holds for continuation


SYNTH = {  # benchmark-only tasks: the product's MLP on a fixed make_classification set
    # held out for the promotion rule (session 14): 1000 rows, 20 features (8 informative,
    # 4 redundant), 3 classes of two clusters, class_sep 0.8, 3% of labels flipped
    "synth-mlp": dict(n_samples=1000, n_features=20, n_informative=8, n_redundant=4,
                      n_classes=3, class_sep=0.8, flip_y=0.03, random_state=2026),
    # held out for the ladder protocol (session 15): fixed, and never run by a planner, before
    # it; it differs from synth-mlp in more than the generator's seed (rows, features,
    # classes, separation, label noise), so a setting cannot ride on one data family
    "synth2-mlp": dict(n_samples=1500, n_features=30, n_informative=10, n_redundant=5,
                       n_classes=4, class_sep=1.0, flip_y=0.05, random_state=2027),
}  # fmt: skip


def synthetic_task(seed: int, max_epochs: int, name: str = "synth-mlp") -> Any:
    """A :data:`SYNTH` task: the product's MLP on a fixed scikit-learn ``make_classification``
    set (two clusters per class), split 70/30 and standardised as the product's tabular tasks
    are. Its training is real; only its data are generated."""
    import numpy as np
    import torch
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    from perturbo.kinds.hyperparameter.torch_tasks import TorchTask

    gen = SYNTH[name]
    X, y = make_classification(n_clusters_per_class=2, **gen)  # type: ignore[arg-type]
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-8
    t = lambda a, dt: torch.as_tensor(np.asarray(a), dtype=dt)  # noqa: E731
    data = (t((Xtr - mu) / sd, torch.float32), t(ytr, torch.long),
            t((Xva - mu) / sd, torch.float32), t(yva, torch.long), int(gen["n_classes"]))  # fmt: skip
    # dataset names the MLP's family only: _data is set, so nothing is loaded by that name
    return TorchTask(name, "breast_cancer", max_epochs, seed=seed, _data=data)


def ladder(max_e: int, eta: int = 3) -> tuple[int, ...]:
    out, r = [], 1
    while r < max_e:
        out.append(r)
        r *= eta
    return (*out, max_e)


class Trainer:
    """One task on one seed: ``curve(cfg, epochs, stop)`` gives the per-epoch val_loss of
    ``cfg`` (trained on demand, up to the next rung of the eta-3 ladder)."""

    def __init__(self, task: str, seed: int) -> None:
        from perturbo.kinds.hyperparameter.tasks import make_task

        self.max_e = TASKS[task]
        if task in SYNTH:
            self.task = synthetic_task(seed, self.max_e, task)
        else:
            self.task = make_task(task, seed=seed, max_epochs=self.max_e)
        self.task.keep_states = 10**6  # a compute cache shared by the methods (Spend charges)
        self.space = self.task.space()
        self.rungs = ladder(self.max_e)
        self._curves: dict[str, list[float]] = {}
        self._models: dict[str, Any] = {}

    def fidelity_space(self, min_epochs: int = 1) -> Any:
        """The task's space plus the ``epochs`` fidelity (``min_epochs`` to a full training),
        as `mf-bo` searches it: the run and every replay of it build it here, so they agree.
        `mf-bo`'s ladder starts at ``min_epochs`` (``min_epochs * 3**k``, then the top)."""
        from perturbo.space import Int, SearchSpace

        return SearchSpace([*self.space.params, Int("epochs", min_epochs, self.max_e)])

    def _extend(self, cfg: dict[str, Any], key: str, upto: int) -> None:
        import torch
        from torch import nn

        curve = self._curves.setdefault(key, [])
        _, _, Xva, yva, _ = self.task._load()
        build = self.task._model

        def model(p: Any, n_in: int, n_out: int) -> Any:
            self._models[key] = build(p, n_in, n_out)
            return self._models[key]

        def report(epoch: int, acc: float) -> bool:
            with torch.no_grad():
                v = float(nn.functional.cross_entropy(self._models[key](Xva), yva))
            curve.append(v if math.isfinite(v) else 10.0)
            return True

        self.task._model = model  # type: ignore[method-assign]
        try:
            self.task.evaluate({**cfg, "epochs": upto}, report)
        finally:
            del self.task._model  # back to the class's method
        if len(curve) < upto:  # diverged: the last value stays
            curve += [curve[-1] if curve else 10.0] * (self.max_e - len(curve))

    def curve(
        self, cfg: dict[str, Any], epochs: int, stop: Callable[[int, float], bool] | None = None
    ) -> list[float]:
        """val_loss after each epoch, up to ``epochs`` or until ``stop(epoch, v)`` is True."""
        key = self.space.key(cfg)
        out: list[float] = []
        for e in range(1, epochs + 1):
            if len(self._curves.get(key, ())) < e:
                upto = epochs if stop is None else min(r for r in self.rungs if r >= e)
                self._extend(cfg, key, upto)
            v = self._curves[key][e - 1]
            out.append(v)
            if stop is not None and stop(e, v):
                break
        return out


class Spend:
    """The epochs a method pays. ``warm``: the trainer continues a config's last run (as
    TorchTask does, for its last :data:`KEEP` configs), so a run of ``key`` to ``e`` epochs
    costs ``e`` minus the epochs that run reached; otherwise (or once the run is dropped, or
    when ``e`` is shorter) it costs ``e``. A pruned trial is not kept."""

    def __init__(self, warm: bool) -> None:
        self.warm, self.total = warm, 0.0
        self._held: OrderedDict[str, int] = OrderedDict()

    def pay(self, key: str, e: int, kept: bool = True) -> float:
        held = self._held.pop(key, 0) if self.warm else 0
        cost = float(e - held if held <= e else e)
        if self.warm and kept:
            self._held[key] = e
            while len(self._held) > KEEP:
                self._held.popitem(last=False)
        self.total += cost
        return cost

    def drop(self, key: str) -> None:
        """``key``'s run is not kept (a trial pruned after its epochs were paid)."""
        self._held.pop(key, None)


def mfbo_planner(tr: Trainer, seed: int, opts: dict[str, Any]) -> Any:
    """``mf-bo`` on ``tr``'s space plus its epochs (``opts``: the planner's options, and the
    benchmark's ``min_epochs``, the ladder's first rung)."""
    from perturbo.search.mf_bo import MFBOPlanner

    opts = dict(opts)
    space = tr.fidelity_space(opts.pop("min_epochs", 1))
    return MFBOPlanner(space, "hyperparameter", seed, objective="val_loss", direction="min", **opts)


def run_spec(tr: Trainer, spend: Spend, spec: Any, trace: list[Any]) -> tuple[float, float]:
    """Train ``spec``'s config to its epochs, pay for it and add it to ``trace`` (the total
    paid once it is, its epochs, its value, its config's key); ``(value, epochs paid)``."""
    e = int(spec.params["epochs"])
    cfg = {k: v for k, v in spec.params.items() if k != "epochs"}
    v = tr.curve(cfg, e)[-1]
    key = tr.space.key(cfg)
    paid = spend.pay(key, e)
    trace.append((spend.total, e, v, key))
    return v, paid


__all__ = [
    "DEV_TASK",
    "KEEP",
    "SYNTH",
    "TASKS",
    "Spend",
    "Trainer",
    "ladder",
    "mfbo_planner",
    "run_spec",
    "synthetic_task",
]
