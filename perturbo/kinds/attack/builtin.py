"""Built-in offline targets, trained on first use and cached as TorchScript + ``.npz``.

- ``digits-cnn``: a small CNN on scikit-learn's digits (8x8 grey images, values in
  ``[0, 1]``; 1,197 training and 600 held-out images).
- ``digits-cnn-adv``: the same CNN adversarially trained (Madry et al.: PGD-7, Linf
  eps 0.1, on every batch), so attacks have something to fight.
- ``wine-mlp``: an MLP on scikit-learn's wine (13 features min-max scaled to ``[0, 1]``,
  3 classes).

Each is written to ``<cache>/<name>-v1.pt`` (TorchScript) and ``<cache>/<name>-v1.npz``
(the held-out ``x``, ``y``), so it is loaded through exactly the path a user's
``--model model.pt --data data.npz`` takes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VERSION = "v1"
DEFAULT_CACHE = "~/.cache/perturbo/attack"


@dataclass(frozen=True)
class Builtin:
    name: str
    description: str
    input_range: tuple[float, float]
    train: Callable[[int, int], tuple[object, np.ndarray, np.ndarray]]
    """(seed, epochs) -> (nn.Module, held-out x, held-out y)."""
    epochs: int


def _digits(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    y = d.target.astype(np.int64)
    idx = np.random.default_rng(seed).permutation(len(x))
    test, train = idx[:600], idx[600:]
    return x[train], y[train], x[test], y[test]


def digits_cnn_module() -> object:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def _fit(
    net: object,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    seed: int,
    adv_eps: float = 0.0,
    lr: float = 3e-3,
) -> object:
    import torch
    import torch.nn.functional as F

    from perturbo.kinds.attack.model import CountingModel
    from perturbo.kinds.attack.pgd import pgd

    torch.manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(net.parameters(), lr=lr)  # type: ignore[attr-defined]
    rng = np.random.default_rng(seed)
    wrapped = CountingModel(net)  # type: ignore[arg-type]
    for epoch in range(epochs):
        order = torch.from_numpy(rng.permutation(len(xt)))
        for i in range(0, len(order), 64):
            b = order[i : i + 64]
            xb, yb = xt[b], yt[b]
            if adv_eps > 0:
                ramp = min(1.0, (epoch + 1) / max(1, epochs // 3))  # eps warm-up
                net.eval()  # type: ignore[attr-defined]
                xb = pgd(
                    wrapped,
                    xb,
                    yb,
                    eps=adv_eps * ramp,
                    norm="linf",
                    steps=7,
                    step_size=2.5 * adv_eps * ramp / 7,
                    seed=seed + epoch * 1000 + i,
                    early_stop=False,
                ).x_adv
                net.train()  # type: ignore[attr-defined]
            loss = F.cross_entropy(net(xb), yb)  # type: ignore[operator]
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()  # type: ignore[attr-defined]
    return net


def _train_digits(
    seed: int, epochs: int, adv_eps: float = 0.0
) -> tuple[object, np.ndarray, np.ndarray]:
    xtr, ytr, xte, yte = _digits(seed)
    net = _fit(digits_cnn_module(), xtr, ytr, epochs, seed, adv_eps=adv_eps)
    return net, xte, yte


def _train_wine(seed: int, epochs: int) -> tuple[object, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_wine
    from torch import nn

    d = load_wine()
    x, y = d.data.astype(np.float32), d.target.astype(np.int64)
    idx = np.random.default_rng(seed).permutation(len(x))
    test, train = idx[:60], idx[60:]
    lo, hi = x[train].min(0), x[train].max(0)
    x = np.clip((x - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0, 1.0).astype(np.float32)
    net = nn.Sequential(
        nn.Linear(13, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3)
    )
    _fit(net, x[train], y[train], epochs, seed, lr=1e-2)
    return net, x[test], y[test]


BUILTINS: dict[str, Builtin] = {
    "digits-cnn": Builtin(
        "digits-cnn",
        "small CNN on scikit-learn digits (8x8, [0,1])",
        (0.0, 1.0),
        lambda seed, ep: _train_digits(seed, ep),
        15,
    ),
    "digits-cnn-adv": Builtin(
        "digits-cnn-adv",
        "the digits CNN, PGD-7 adversarially trained (Linf eps 0.1)",
        (0.0, 1.0),
        lambda seed, ep: _train_digits(seed, ep, adv_eps=0.1),
        20,
    ),
    "wine-mlp": Builtin(
        "wine-mlp",
        "MLP on scikit-learn wine (13 features scaled to [0,1], 3 classes)",
        (0.0, 1.0),
        _train_wine,
        60,
    ),
}


def cached_paths(
    name: str, cache_dir: str | None = None, epochs: int | None = None
) -> tuple[Path, Path]:
    """The TorchScript and ``.npz`` files of built-in ``name`` (trained and written if absent)."""
    import torch

    b = BUILTINS[name]
    epochs = epochs or b.epochs
    root = Path(os.path.expanduser(cache_dir or DEFAULT_CACHE))
    stem = f"{name}-{VERSION}" + ("" if epochs == b.epochs else f"-e{epochs}")
    model_path, data_path = root / f"{stem}.pt", root / f"{stem}.npz"
    if model_path.is_file() and data_path.is_file():
        return model_path, data_path
    root.mkdir(parents=True, exist_ok=True)
    net, x, y = b.train(0, epochs)
    scripted = torch.jit.script(net)
    # write to temporary names, then rename: parallel actors never read a half-written file
    with tempfile.NamedTemporaryFile(dir=root, suffix=".pt", delete=False) as f:
        torch.jit.save(scripted, f.name)
        tmp_model = f.name
    with tempfile.NamedTemporaryFile(dir=root, suffix=".npz", delete=False) as f:
        np.savez(f, x=x, y=y)
        tmp_data = f.name
    for tmp in (tmp_model, tmp_data):
        os.chmod(tmp, 0o644)
    os.replace(tmp_data, data_path)
    os.replace(tmp_model, model_path)
    return model_path, data_path


__all__ = ["BUILTINS", "DEFAULT_CACHE", "Builtin", "cached_paths", "digits_cnn_module"]
