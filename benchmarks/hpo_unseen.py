"""Hyperparameter tasks no perturbo choice was ever made on: an evaluation set, run once.

Written in session 21, before any planner ran on them, to ask whether `bo`'s standing in the
20-task benchmark (where every `bo` choice since session 9 was checked) carries over to
tasks it has never met. Each is a real scikit-learn model on a dataset scikit-learn ships,
scored by 3-fold cross-validation with fixed folds and fixed model seeds (the same config
gives the same value: no noise across seeds, as for the trainers' seeded runs). Spaces as a
practitioner writes them: log-scaled floats, integers, unordered categoricals and
conditional parameters.

- ``svc-digits``: ``SVC`` on the 8x8 digits, accuracy (max); C, gamma (log), kernel
  (rbf / poly / sigmoid), degree (poly only).
- ``hgb-diabetes``: ``HistGradientBoostingRegressor`` on diabetes, mean squared error (min);
  learning rate, l2 (log), leaves, min samples per leaf, iterations (integers, log).
- ``sgd-breast_cancer``: a standardised ``SGDClassifier`` on breast cancer, accuracy (max);
  loss, penalty, learning-rate schedule (categoricals), alpha (log), l1_ratio (elastic net
  only), eta0 (log; not with the ``optimal`` schedule).

References as for the trainers (``hpo_report``): the best value any run reached, and the
median of random search's evaluations.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from perturbo.space import Categorical, Float, Int, SearchSpace

__all__ = ["UNSEEN", "UnseenTask"]


@cache
def _data(name: str) -> tuple[Any, Any]:
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def _cv(model: Any, data: str, scoring: str = "accuracy") -> float:
    from sklearn.model_selection import KFold, cross_val_score

    X, y = _data(data)
    folds = KFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of poor configs
        return float(cross_val_score(model, X, y, cv=folds, scoring=scoring).mean())


def _svc(p: Mapping[str, Any]) -> float:
    from sklearn.svm import SVC

    kw = {"degree": int(p["degree"])} if p["kernel"] == "poly" else {}
    return _cv(SVC(C=p["C"], gamma=p["gamma"], kernel=p["kernel"], max_iter=20000, **kw), "digits")


def _hgb(p: Mapping[str, Any]) -> float:
    from sklearn.ensemble import HistGradientBoostingRegressor

    m = HistGradientBoostingRegressor(
        learning_rate=p["learning_rate"], max_leaf_nodes=int(p["max_leaf_nodes"]),
        min_samples_leaf=int(p["min_samples_leaf"]), l2_regularization=p["l2"],
        max_iter=int(p["max_iter"]), early_stopping=False, random_state=0,
    )  # fmt: skip
    return -_cv(m, "diabetes", "neg_mean_squared_error")


def _sgd(p: Mapping[str, Any]) -> float:
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    kw: dict[str, Any] = {"l1_ratio": p["l1_ratio"]} if p["penalty"] == "elasticnet" else {}
    if p["schedule"] != "optimal":
        kw["eta0"] = p["eta0"]
    m = SGDClassifier(
        loss=p["loss"], penalty=p["penalty"], alpha=p["alpha"], learning_rate=p["schedule"],
        max_iter=200, tol=1e-4, random_state=0, **kw,
    )  # fmt: skip
    return _cv(make_pipeline(StandardScaler(), m), "breast_cancer")


def _spaces() -> dict[str, SearchSpace]:
    return {
        "svc-digits": SearchSpace([
            Float("C", 1e-2, 1e4, log=True),
            Float("gamma", 1e-6, 1.0, log=True),
            Categorical("kernel", ["rbf", "poly", "sigmoid"]),
            Int("degree", 2, 5, when={"kernel": ["poly"]}),
        ]),
        "hgb-diabetes": SearchSpace([
            Float("learning_rate", 1e-3, 1.0, log=True),
            Int("max_leaf_nodes", 2, 128, log=True),
            Int("min_samples_leaf", 1, 100, log=True),
            Float("l2", 1e-6, 10.0, log=True),
            Int("max_iter", 10, 300, log=True),
        ]),
        "sgd-breast_cancer": SearchSpace([
            Categorical("loss", ["hinge", "log_loss", "modified_huber"]),
            Categorical("penalty", ["l2", "l1", "elasticnet"]),
            Float("alpha", 1e-7, 1.0, log=True),
            Float("l1_ratio", 0.0, 1.0, when={"penalty": ["elasticnet"]}),
            Categorical("schedule", ["optimal", "invscaling", "adaptive"]),
            Float("eta0", 1e-4, 1.0, log=True, when={"schedule": ["invscaling", "adaptive"]}),
        ]),
    }  # fmt: skip


_TASKS: dict[str, tuple[Callable[[Mapping[str, Any]], float], str, str]] = {
    "svc-digits": (_svc, "accuracy", "max"),
    "hgb-diabetes": (_hgb, "mse", "min"),
    "sgd-breast_cancer": (_sgd, "accuracy", "max"),
}
UNSEEN = tuple(_TASKS)


class UnseenTask:
    """One of :data:`UNSEEN` as the benchmark's task protocol wants it."""

    max_epochs = 0
    noise_std = 0.0

    def __init__(self, name: str, seed: int = 0) -> None:
        self.name = name
        self._fn, self.objective, self.direction = _TASKS[name]

    def metric_names(self) -> tuple[str, ...]:
        return (self.objective,)

    def space(self) -> SearchSpace:
        return _spaces()[self.name]

    def evaluate(self, params: Mapping[str, Any], report: Any = None) -> dict[str, float]:
        return {self.objective: self._fn(params)}
