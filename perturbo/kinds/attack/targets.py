"""Loading a target: the model (TorchScript file, ``module:factory``, or a built-in) and
its held-out data, checked against each other before any attack runs.

Every problem a user can cause ends in one :class:`~perturbo.types.PerturboError` that
names the input and the fix: a model file that does not load, data of the wrong shape or
outside ``--input-range``, labels outside the model's classes, NaN logits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from perturbo.types import PerturboError

LOADS: dict[str, int] = {}
"""Model loads in this process, per model: what the end-to-end test reads to check that an
actor loads its model once and reuses it for every attack config."""


@dataclass(frozen=True)
class TargetRecipe:
    """A picklable recipe for a target (what each actor loads once)."""

    model: str = "digits-cnn"
    data: str | None = None
    input_range: tuple[float, float] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    allow_user_code: bool = False
    cache_dir: str | None = None
    n_samples: int = 500
    train_epochs: int | None = None
    """Built-ins only: epochs to train for (tests train a quicker one)."""
    device: str | None = None

    def load(self) -> Target:
        return load_target(self)


@dataclass
class Target:
    """A loaded target: the counted model and ``n`` held-out samples on its device."""

    name: str
    model: Any  # CountingModel
    x: Any  # torch.Tensor (n, *shape)
    y: Any  # torch.Tensor (n,)
    lo: float
    hi: float
    n_classes: int
    device: str
    clean_pred: Any  # torch.Tensor (n,)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))


def parse_range(text: str | Sequence[float] | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        parts = [float(v) for v in (text.split(",") if isinstance(text, str) else text)]
    except ValueError:
        parts = []
    if len(parts) != 2 or not all(np.isfinite(parts)) or parts[0] >= parts[1]:
        raise PerturboError(
            f"--input-range {text!r}: give two numbers low,high with low < high, e.g. 0,1"
        )
    return parts[0], parts[1]


def _load_net(spec: str, recipe: TargetRecipe, device: str) -> Any:
    import torch

    if ":" in spec and not Path(spec).exists() and not spec.endswith((".pt", ".pth")):
        if not recipe.allow_user_code:
            raise PerturboError(
                f"--model {spec!r} runs your code (a module:factory); add --allow-user-code "
                "to allow it, or pass a TorchScript file (torch.jit.save)"
            )
        from perturbo.user_code import import_user_function

        fn = import_user_function(spec, f"--model {spec!r}")  # PYTHONPATH, then the cwd
        if not callable(fn):
            raise PerturboError(
                f"--model {spec!r}: {spec.partition(':')[2]!r} is a {type(fn).__name__}, not "
                "a function; name a function returning an nn.Module"
            )
        net = fn()
        if not isinstance(net, torch.nn.Module):
            raise PerturboError(
                f"--model {spec!r} returned {type(net).__name__}, not a torch.nn.Module; "
                "make the factory return the model"
            )
        return net.to(device).eval()
    path = Path(spec).expanduser()
    if not path.is_file():
        from perturbo.kinds.attack.builtin import BUILTINS

        raise PerturboError(
            f"--model {spec!r} is neither a built-in target ({', '.join(BUILTINS)}) nor a "
            "file: pass a TorchScript file, or module:factory with --allow-user-code"
        )
    try:
        return torch.jit.load(str(path), map_location=device).eval()
    except Exception as e:  # noqa: BLE001 - any load failure is the user's file
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise PerturboError(
            f"--model {str(path)!r} could not be loaded as TorchScript ({first}); save the "
            "model with torch.jit.save(torch.jit.script(model), path), or pass "
            "module:factory with --allow-user-code"
        ) from None


def _load_data(path: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    p = Path(path).expanduser()
    if not p.is_file():
        raise PerturboError(f"--data {path!r} does not exist; pass an .npz with arrays x and y")
    try:
        with np.load(p, allow_pickle=False) as f:
            missing = {"x", "y"} - set(f.files)
            if missing:
                raise PerturboError(
                    f"--data {path!r} has no {sorted(missing)} array(s) (it has {f.files}); "
                    "save it with np.savez(path, x=inputs, y=labels)"
                )
            x, y = np.asarray(f["x"]), np.asarray(f["y"])
    except PerturboError:
        raise
    except Exception as e:  # noqa: BLE001
        raise PerturboError(f"--data {path!r} is not a readable .npz ({e})") from None
    if len(x) != len(y) or y.ndim != 1:
        raise PerturboError(
            f"--data {path!r}: x has {len(x)} rows and y shape {y.shape}; y must be one int "
            "label per row of x"
        )
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        else:
            raise PerturboError(f"--data {path!r}: y must hold integer class labels, got {y.dtype}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise PerturboError(f"--data {path!r}: x holds NaN or inf values; clean the data first")
    if len(x) == 0:
        raise PerturboError(f"--data {path!r} holds no samples")
    return x[:n].astype(np.float32), y[:n].astype(np.int64)


def _check_norm(recipe: TargetRecipe, shape: tuple[int, ...]) -> None:
    """``--mean`` / ``--std``: finite, std > 0, one value or one per channel (the inputs'
    second axis: image channels, or tabular features)."""
    channels = int(shape[1]) if len(shape) > 1 else 1
    for flag, vals in (("--mean", recipe.mean), ("--std", recipe.std)):
        if vals is None:
            continue
        if not all(math.isfinite(v) for v in vals) or (flag == "--std" and min(vals) <= 0):
            raise PerturboError(
                f"{flag} {','.join(f'{v:g}' for v in vals)}: give finite numbers"
                + (", every std > 0" if flag == "--std" else "")
            )
        if len(vals) not in (1, channels):
            raise PerturboError(
                f"{flag} has {len(vals)} values for inputs with {channels} channels (shape "
                f"{tuple(shape[1:])}): give one value per channel, or one for all"
            )


def load_target(recipe: TargetRecipe) -> Target:
    """Load and check (see the module docstring). Counts the load in :data:`LOADS`."""
    import torch

    from perturbo.kinds.attack.builtin import BUILTINS, cached_paths
    from perturbo.kinds.attack.model import CountingModel

    device = recipe.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model_spec, data_spec, rng = recipe.model, recipe.data, recipe.input_range
    if model_spec not in BUILTINS and ":" not in model_spec:
        if not Path(model_spec).expanduser().is_file():  # before asking for its --data
            raise PerturboError(
                f"--model {model_spec!r} is neither a built-in target ({', '.join(BUILTINS)}) "
                "nor a file: pass one of those names, a TorchScript file (torch.jit.save), or "
                "module:factory with --allow-user-code"
            )
    if model_spec in BUILTINS:
        mp, dp = cached_paths(model_spec, recipe.cache_dir, recipe.train_epochs)
        model_spec, data_spec = str(mp), data_spec or str(dp)
        rng = rng or BUILTINS[recipe.model].input_range
    if data_spec is None:
        raise PerturboError(
            f"--model {recipe.model!r} needs --data: an .npz with x (inputs in the model's "
            "input range) and y (int labels)"
        )
    if recipe.n_samples < 1:
        raise PerturboError(f"--samples {recipe.n_samples}: attack at least 1 sample")
    x, y = _load_data(data_spec, recipe.n_samples)
    lo, hi = rng or (0.0, 1.0)
    if x.min() < lo - 1e-6 or x.max() > hi + 1e-6:
        raise PerturboError(
            f"--data {data_spec!r}: x spans [{x.min():.4g}, {x.max():.4g}], outside "
            f"--input-range {lo:g},{hi:g}; pass the range the model takes (e.g. --input-range "
            f"{np.floor(x.min()):g},{np.ceil(x.max()):g}) and normalise inside the model or "
            "with --mean/--std"
        )
    _check_norm(recipe, x.shape)
    net = _load_net(model_spec, recipe, device)
    for p in net.parameters():  # a target is attacked, never trained: no weight gradients
        p.requires_grad_(False)
    model = CountingModel(net, recipe.mean, recipe.std).to(device).eval()
    xt = torch.from_numpy(np.clip(x, lo, hi)).to(device)
    yt = torch.from_numpy(y).to(device)
    try:
        with torch.no_grad():
            z = model.predict(xt)
    except Exception as e:  # noqa: BLE001 - shape mismatch, dtype...
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise PerturboError(
            f"--model {recipe.model!r} fails on --data inputs of shape {tuple(x.shape[1:])} "
            f"({first}); pass data shaped as the model's input (batch first), e.g. (n, C, H, W)"
        ) from None
    if z.dim() != 2 or z.shape[0] != len(x):
        raise PerturboError(
            f"--model {recipe.model!r} returns shape {tuple(z.shape)} for {len(x)} inputs; it "
            "must return logits of shape (n, n_classes)"
        )
    if not torch.isfinite(z).all():
        raise PerturboError(
            f"--model {recipe.model!r} returns NaN/inf logits on --data; check the model and "
            "that --input-range / --mean / --std match how it was trained"
        )
    n_classes = int(z.shape[1])
    if y.min() < 0 or y.max() >= n_classes:
        raise PerturboError(
            f"--data labels span {int(y.min())}..{int(y.max())}, outside the model's "
            f"{n_classes} classes (0..{n_classes - 1}); relabel y to 0..{n_classes - 1}"
        )
    model.reset()
    LOADS[recipe.model] = LOADS.get(recipe.model, 0) + 1
    return Target(recipe.model, model, xt, yt, float(lo), float(hi), n_classes, device, z.argmax(1))


def weak_target(target: Target) -> str | None:
    """What is wrong with a target that classifies few of its samples correctly (at most
    twice chance, or half), else ``None``. Robust accuracy counts only samples classified
    correctly clean, so on such a model every attack scores near 0 and looks strong: the
    campaign warns instead of reporting that without a word."""
    n = len(target.y)
    if not n:
        return None
    acc = float((target.clean_pred == target.y).float().mean().item())
    chance = 1.0 / max(target.n_classes, 1)
    if acc > min(0.5, 2 * chance):
        return None
    return (
        f"--model {target.name!r} classifies {acc:.0%} of its {n} --data samples correctly "
        f"(chance: {chance:.0%}), so robust accuracy is at most {acc:.2f} whatever the attack; "
        "check --data's labels, --input-range and --mean/--std"
    )


def warn_if_weak(target: Target) -> None:
    """:func:`weak_target` as a warning (one line under the CLI)."""
    why = weak_target(target)
    if why is not None:
        import warnings

        warnings.warn(why, stacklevel=2)


__all__ = [
    "LOADS",
    "Target",
    "TargetRecipe",
    "load_target",
    "parse_range",
    "warn_if_weak",
    "weak_target",
]
