"""Attacks taken from the well-kept libraries, adapted to a :class:`CountingModel`.

- pyautoattack 0.2.0 (Croce & Hein's AutoAttack): APGD-CE, APGD-DLR, APGD-T, Square, and
  the standard AutoAttack ensemble (the strength bar's reference). It assumes inputs in
  ``[0, 1]``, so the model is seen through :class:`UnitRange` and eps rescaled.
- ART 1.20.1 (adversarial-robustness-toolbox): CW-L2 (Carlini & Wagner), DeepFool, its
  ``ProjectedGradientDescentPyTorch`` (the reference our PGD is tested and timed against)
  and its ``AutoAttack``.

Every wrapper takes ``x``, ``y`` tensors in ``[lo, hi]`` and returns adversarial examples
in the same space; passes are counted by the model the library calls.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from perturbo.kinds.attack.model import CountingModel, UnitRange


def _norm_name(norm: str) -> str:
    return {"linf": "Linf", "l2": "L2"}[norm]


def _unit(
    model: CountingModel, x: torch.Tensor, lo: float, hi: float
) -> tuple[UnitRange, torch.Tensor, float]:
    return UnitRange(model, lo, hi), (x - lo) / (hi - lo), hi - lo


def apgd(
    model: CountingModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str,
    lo: float,
    hi: float,
    steps: int = 100,
    restarts: int = 1,
    loss: str = "ce",
    seed: int = 0,
) -> torch.Tensor:
    """APGD (Croce & Hein 2020) with the CE or DLR loss."""
    from pyautoattack.autopgd_base import APGDAttack

    m, u, s = _unit(model, x, lo, hi)
    atk = APGDAttack(
        m,
        n_iter=steps,
        norm=_norm_name(norm),
        n_restarts=restarts,
        eps=eps / s,
        seed=seed,
        loss=loss,
        device=x.device,
        logger=logging.getLogger("apgd"),
    )
    return lo + s * atk.perturb(u, y).detach()


def apgd_t(
    model: CountingModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str,
    lo: float,
    hi: float,
    steps: int = 100,
    targets: int = 9,
    n_classes: int = 10,
    seed: int = 0,
) -> torch.Tensor:
    """APGD-T: the targeted DLR loss against the ``targets`` most likely wrong classes."""
    from pyautoattack.autopgd_base import APGDAttack_targeted

    m, u, s = _unit(model, x, lo, hi)
    atk = APGDAttack_targeted(
        m,
        n_iter=steps,
        norm=_norm_name(norm),
        eps=eps / s,
        seed=seed,
        n_target_classes=max(1, min(targets, n_classes - 1)),
        device=x.device,
        logger=logging.getLogger("apgd-t"),
    )
    return lo + s * atk.perturb(u, y).detach()


def square(
    model: CountingModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str,
    lo: float,
    hi: float,
    queries: int = 1000,
    p_init: float = 0.8,
    seed: int = 0,
) -> torch.Tensor:
    """Square Attack (Andriushchenko et al. 2020): score-based, no gradients."""
    from pyautoattack.square import SquareAttack

    m, u, s = _unit(model, x, lo, hi)
    atk = SquareAttack(
        m,
        norm=_norm_name(norm),
        n_queries=queries,
        eps=eps / s,
        p_init=p_init,
        n_restarts=1,
        seed=seed,
        loss="margin",
        resc_schedule=False,
        device=x.device,
    )
    with torch.no_grad():
        return lo + s * atk.perturb(u, y).detach()


def autoattack(
    model: CountingModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str,
    lo: float,
    hi: float,
    seed: int = 0,
    batch_size: int = 500,
    version: str = "standard",
    n_classes: int = 10,
) -> torch.Tensor:
    """pyautoattack's standard AutoAttack (APGD-CE, APGD-T, FAB-T, Square). Under 4 classes
    its targeted attacks index a 4th logit and crash: there it runs APGD-CE, APGD-DLR (1
    restart, 100 steps) and, on images (its Square needs them), Square (5,000 queries)."""
    from pyautoattack import AutoAttack

    m, u, s = _unit(model, x, lo, hi)
    custom = {}
    if n_classes < 4 and version == "standard":
        attacks = ["apgd-ce", "apgd-dlr"] + (["square"] if x.dim() == 4 else [])
        version, custom = "custom", {"attacks": attacks}
    aa = AutoAttack(
        m,
        eps=eps / s,
        norm=_norm_name(norm),
        seed=seed,
        version=version,
        device=x.device,
        **custom,  # type: ignore[arg-type]
    )
    if custom:
        aa.apgd.n_restarts = 1  # as the standard version sets it
    aa.verbose = False
    logging.getLogger("auto-attack").setLevel(logging.WARNING)
    xa, _ = aa.run_standard_evaluation(u, y, batch_size=batch_size)
    return lo + s * xa.detach()


def art_classifier(
    model: CountingModel, input_shape: tuple[int, ...], n_classes: int, lo: float, hi: float
) -> Any:
    from art.estimators.classification import PyTorchClassifier

    dev = next(iter(model.buffers())).device
    return PyTorchClassifier(
        model=model,
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=input_shape,
        nb_classes=n_classes,
        clip_values=(lo, hi),
        device_type="gpu" if dev.type == "cuda" else "cpu",
    )


def _art_run(
    attack: Any, x: torch.Tensor, y: torch.Tensor | None = None, n_classes: int = 0
) -> torch.Tensor:
    """``attack.generate`` on numpy copies; ``y`` (class indices) goes in one-hot, as ART wants."""
    xn = x.detach().cpu().numpy()
    yn = None if y is None else np.eye(n_classes, dtype=np.float32)[y.detach().cpu().numpy()]
    return torch.from_numpy(np.asarray(attack.generate(xn, yn), dtype=np.float32)).to(x.device)


def art_pgd(
    model: CountingModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str,
    lo: float,
    hi: float,
    steps: int = 20,
    step_size: float | None = None,
    batch_size: int = 500,
    n_classes: int = 10,
    random_init: bool = True,
) -> torch.Tensor:
    """ART's ProjectedGradientDescentPyTorch (the reference for our PGD)."""
    from art.attacks.evasion import ProjectedGradientDescentPyTorch

    clf = art_classifier(model, tuple(x.shape[1:]), n_classes, lo, hi)
    atk = ProjectedGradientDescentPyTorch(
        clf,
        norm=np.inf if norm == "linf" else 2,
        eps=eps,
        eps_step=step_size if step_size is not None else 2.5 * eps / steps,
        max_iter=steps,
        batch_size=batch_size,
        num_random_init=1 if random_init else 0,
        verbose=False,
    )
    return _art_run(atk, x, y, n_classes)


def cw_l2(
    model: CountingModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    lo: float,
    hi: float,
    steps: int = 20,
    confidence: float = 0.0,
    n_classes: int = 10,
    batch_size: int = 500,
) -> torch.Tensor:
    """ART's Carlini & Wagner L2 (minimal-norm; judged at the campaign's eps)."""
    from art.attacks.evasion import CarliniL2Method

    clf = art_classifier(model, tuple(x.shape[1:]), n_classes, lo, hi)
    atk = CarliniL2Method(
        clf,
        confidence=confidence,
        max_iter=steps,
        binary_search_steps=3,
        learning_rate=0.05,
        initial_const=1.0,
        batch_size=batch_size,
        verbose=False,
    )
    return _art_run(atk, x, y, n_classes)


def deepfool(
    model: CountingModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    lo: float,
    hi: float,
    steps: int = 50,
    overshoot: float = 0.02,
    n_classes: int = 10,
    batch_size: int = 500,
) -> torch.Tensor:
    """ART's DeepFool (Moosavi-Dezfooli et al. 2016; minimal-norm L2)."""
    from art.attacks.evasion import DeepFool

    clf = art_classifier(model, tuple(x.shape[1:]), n_classes, lo, hi)
    atk = DeepFool(
        clf,
        max_iter=steps,
        epsilon=overshoot,
        nb_grads=min(10, n_classes),
        batch_size=batch_size,
        verbose=False,
    )
    return _art_run(atk, x)


def art_autoattack(
    model: CountingModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str,
    lo: float,
    hi: float,
    n_classes: int = 10,
    batch_size: int = 500,
    square_queries: int = 5000,
    square_restarts: int = 5,
    apgd_restarts: int = 5,
) -> torch.Tensor:
    """ART's AutoAttack with its default attack list (APGD-CE and APGD-DLR with
    ``apgd_restarts`` (5) restarts of 100 iterations, DeepFool, Square ``square_queries`` x ``square_restarts``: 5000 x 5 by
    default), built here to turn their progress bars off (and to let a benchmark shorten
    ART's numpy Square, ~12 iterations/s here)."""
    from art.attacks.evasion import AutoAttack, AutoProjectedGradientDescent, DeepFool, SquareAttack

    clf = art_classifier(model, tuple(x.shape[1:]), n_classes, lo, hi)
    p = np.inf if norm == "linf" else 2
    apgd_kw = {
        "norm": p,
        "eps": eps,
        "eps_step": eps / 4,
        "max_iter": 100,
        "targeted": False,
        "nb_random_init": apgd_restarts,
        "batch_size": batch_size,
        "verbose": False,
    }
    attacks = [
        AutoProjectedGradientDescent(clf, loss_type="cross_entropy", **apgd_kw),
        AutoProjectedGradientDescent(clf, loss_type="difference_logits_ratio", **apgd_kw),
        DeepFool(
            clf, max_iter=100, epsilon=1e-3, nb_grads=10, batch_size=batch_size, verbose=False
        ),
        SquareAttack(
            clf,
            norm=p,
            max_iter=square_queries,
            eps=eps,
            p_init=0.8,
            nb_restarts=square_restarts,
            verbose=False,
        ),
    ]
    atk = AutoAttack(clf, norm=p, eps=eps, eps_step=eps / 4, attacks=attacks, batch_size=batch_size)
    return _art_run(atk, x, y, n_classes)


__all__ = [
    "apgd",
    "apgd_t",
    "art_autoattack",
    "art_classifier",
    "art_pgd",
    "autoattack",
    "cw_l2",
    "deepfool",
    "square",
]
