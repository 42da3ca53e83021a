"""Opt-in changes to ``bo``'s GP fit, one per candidate reason why ``bo`` loses to Optuna's
``GPSampler`` or HEBO on some tasks (docs/findings/categorical-bo.md, "Why bo loses ..."):

- :func:`warp_outcomes` (``BOPlanner(y_warp=True)``): a monotone power transform of the
  observed values before the fit, as HEBO does (standardise, then Yeo-Johnson with its
  lambda fitted by maximum likelihood: scikit-learn's ``PowerTransformer``). Skewed values
  (many bad configs, few good ones) otherwise pull a GP on standardised values toward the tail.
- :func:`input_warp` (``BOPlanner(input_warp=True)``): BoTorch's Kumaraswamy-CDF ``Warp``
  on the numeric columns, fitted with the GP (HEBO's input warping).
- :func:`low_noise` (``BOPlanner(noise="low")``): Optuna's noise model instead of BoTorch's:
  noise variance (of the standardised values) >= 1e-6 with a Gamma(1.1, 30) prior, nearly
  flat near zero. BoTorch's LogNormal(-4, 1) prior and 1e-4 floor make a noise-free function
  look noisy, which may floor the precision near the optimum.

Each keeps the argmax of the data (a monotone map of Y, a reparametrisation of X, or a
likelihood setting); none is on by default unless the findings say it was adopted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["clamp_blow_ups", "input_warp", "low_noise", "warp_outcomes", "winsorize_bad_tail"]


def _quartiles(y: np.ndarray) -> tuple[float, float]:
    """q1 and q3 as Ax's ``_get_tukey_cutoffs`` takes them (the same percentile methods)."""
    return np.percentile(y, q=25, method="lower"), np.percentile(y, q=75, method="higher")


def winsorize_bad_tail(Y: np.ndarray) -> np.ndarray:
    """Column-wise (larger is better): values below Tukey's lower fence, ``q1 - 1.5 IQR``, are
    raised to it. Ax's default outcome transform for a single objective (its ``Winsorize``,
    ``_get_tukey_cutoffs``, the same percentile methods). The identity on a column without
    such values; monotone (non-decreasing), so the best observations keep their order."""
    Y = np.array(Y, dtype=float)
    for j in range(Y.shape[1]):
        q1, q3 = _quartiles(Y[:, j])
        Y[:, j] = np.maximum(Y[:, j], q1 - 1.5 * (q3 - q1))
    return Y


def clamp_blow_ups(Y: np.ndarray, k: float = 100.0) -> np.ndarray:
    """Column-wise (larger is better): a value more than ``k`` interquartile ranges below the
    lower quartile is a blow-up (a diverged training's huge finite loss), not a measurement of
    the surface: it is raised to Tukey's lower fence, ``q1 - 1.5 IQR`` (where
    :func:`winsorize_bad_tail` puts every bad value). `bo`'s guard. With k = 100 it changed
    none of the fits of the HPO benchmark's recorded `bo` runs but those of Branin's
    100-evaluation runs after evaluation 65, where `bo` had converged and the IQR collapsed
    (``benchmarks/bo_outlier_probe.py --identity``); without it, one value 1e6 worse took
    `bo`'s Hartmann6 regret from 0.024 to 0.65, worse than random search. A column with IQR
    0 is left as it is (no scale to judge by).

    First, :func:`_raise_astronomical`: where a quarter or more of the values blew up, q1 is
    itself a blow-up and the IQR spans it, so the rule above cannot see them (a loss of 1e300
    on 40% of a space sent every `bo` proposal to its Sobol fallback: the standardisation's
    variance overflowed)."""
    Y = np.array(Y, dtype=float)
    for j in range(Y.shape[1]):
        Y[:, j] = _raise_astronomical(Y[:, j])
        q1, q3 = _quartiles(Y[:, j])
        iqr = q3 - q1
        if iqr > 0:
            y = Y[:, j]
            Y[:, j] = np.where(y < q1 - k * iqr, q1 - 1.5 * iqr, y)
    return Y


def _raise_astronomical(y: np.ndarray, ratio: float = 1e6) -> np.ndarray:
    """``y`` (larger is better) with each value more than ``ratio`` times the better quarter's
    scale below its upper quartile q3 (the scale: ``max(|q3|, max - q3)``) raised to Tukey's
    lower fence of the other values. Such a value is no measurement on the surface's scale
    but a divergence sentinel (1e300, a loss of 2.4e31), and up to three quarters of the
    values may be one (q3 is then still a measurement). No benchmark value of `bo`'s recorded
    runs is one (``benchmarks/bo_outlier_probe.py --identity``): at q3 = -0.4 a value must be
    below -4e5. The identity where the scale is 0 (no scale to judge by)."""
    q3 = float(np.percentile(y, q=75, method="higher"))
    scale = max(abs(q3), float(y.max()) - q3)
    if not (np.isfinite(scale) and scale > 0):
        return y
    sky = y < q3 - ratio * scale
    if not sky.any():
        return y
    rest = y[~sky]
    r1, r3 = _quartiles(rest)
    return np.where(sky, min(float(rest.min()), r1 - 1.5 * (r3 - r1)), y)


def warp_outcomes(Y: np.ndarray) -> np.ndarray:
    """Column-wise: standardise, then a Yeo-Johnson power transform (lambda by maximum
    likelihood), standardised again. Monotone increasing per column, so the order of the
    observations (and the argmax) is kept. A constant column is returned as zeros."""
    from sklearn.preprocessing import PowerTransformer

    Y = np.asarray(Y, dtype=float)
    out = np.zeros_like(Y)
    for j in range(Y.shape[1]):
        y = Y[:, j]
        sd = y.std()
        if not np.isfinite(sd) or sd <= 0 or len(y) < 3:
            continue
        z = ((y - y.mean()) / sd).reshape(-1, 1)
        w = PowerTransformer(method="yeo-johnson", standardize=True).fit_transform(z)[:, 0]
        out[:, j] = w if np.all(np.isfinite(w)) else z[:, 0]
    return out


def input_warp(d: int, indices: list[int], normalize: Any | None) -> Any:
    """``normalize`` (or nothing) followed by BoTorch's Kumaraswamy ``Warp`` on ``indices``
    (the unit-cube numeric columns), as one input transform for the model."""
    from botorch.models.transforms.input import ChainedInputTransform, Warp

    warp = Warp(d=d, indices=indices)
    if normalize is None:
        return warp
    return ChainedInputTransform(normalize=normalize, warp=warp)


def low_noise(model: Any, floor: float = 1e-6) -> None:
    """Optuna's ``GPSampler`` noise model on ``model``'s Gaussian likelihood: a Gamma(1.1, 30)
    prior on the noise variance and a lower bound ``floor`` (BoTorch: LogNormal(-4, 1), >= 1e-4).
    Starts at the prior's mode."""
    from gpytorch.constraints import GreaterThan
    from gpytorch.priors import GammaPrior

    noise = model.likelihood.noise_covar
    prior = GammaPrior(1.1, 30.0)
    start = 0.1 / 30.0  # the mode: (concentration - 1) / rate
    noise.register_constraint("raw_noise", GreaterThan(floor, transform=None, initial_value=start))
    noise.register_prior("noise_prior", prior, lambda m: m.noise, lambda m, v: m._set_noise(v))
    noise.noise = start
