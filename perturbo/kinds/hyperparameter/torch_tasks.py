"""The neural tasks on scikit-learn data: ``digits-cnn`` (a small CNN on the 8x8 digits) and
``<dataset>-mlp`` (``wine``, ``breast_cancer``, ``iris``, ``digits``), trained with torch in
the trial's process; an ``epochs`` param is a fidelity, and a longer run of a config continues
its shorter one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perturbo.kinds.hyperparameter.task_base import Report, _always
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import PerturboError

# -- neural tasks on scikit-learn data --------------------------------------------------------

_TABULAR = ("wine", "breast_cancer", "iris", "digits")  # the datasets an MLP trains on


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
    dataset: str  # one of _TABULAR (a task named "*-cnn" trains the CNN on "digits")
    max_epochs: int
    seed: int = 0
    device: str = "cpu"
    objective: str = "val_accuracy"
    direction: str = "max"
    keep_states: int = 32
    _data: tuple[Any, ...] | None = field(default=None, repr=False)
    _states: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def cnn(self) -> bool:
        return self.name.endswith("-cnn")

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
        if self.cnn:
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

        if self.cnn:
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


__all__ = ["TorchTask"]
