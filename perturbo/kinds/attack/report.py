"""The end of an attack campaign: "certified >= L, attacked <= U" at the campaign's eps.

An attack's worst case is an upper bound on robust accuracy; bound propagation
(:mod:`.certify`) gives the lower bound. :class:`Certifier` runs it once, when the campaign
ends, on the samples the campaign attacked, cheapest bound first (``--certify``):

- ``auto`` (default): IBP on every attacked sample, then CROWN on the samples IBP left open
  that the attack did not break, in chunks sized by the rate it measured, within a time cap:
  certifying spends at most :data:`CAP_SHARE` of the campaign's wall time so far (at least
  :data:`CAP_MIN_S` seconds); samples it did not reach stay "in between" (``not_reached``).
- ``ibp``: IBP only. ``crown``: IBP then CROWN on every open sample, no cap.
- ``alpha``: as ``crown``, then alpha-CROWN on the samples CROWN left open (measured on the
  built-ins it gains next to nothing for about CROWN's time again, so it is not the
  default: ``benchmarks/results/certify.md``).
- ``off``: nothing.

A sample the attack broke is never given to CROWN: no sound bound can certify it (IBP, which
runs on all of them, would show a bug as a certified-and-broken sample). A model with a
layer the propagation does not support gets one line naming it, and the campaign ends as
usual. The per-sample table (certified / broken / between, the margin's lower bound, the
local Lipschitz bound) is :meth:`Certificate.csv`, logged as ``certified.csv``.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MODES = ("auto", "off", "ibp", "crown", "alpha")
CAP_SHARE = 0.25
"""``auto``: CROWN may spend this share of the campaign's wall time (so it never dominates)."""
CAP_MIN_S = 3.0
"""``auto``: ... but at least this many seconds (a short campaign still gets CROWN)."""
CHUNK = 32
FIRST_CHUNK = 4
"""``auto``: CROWN's first chunk, small, to measure its rate before the cap plans the rest."""

RESULTS: dict[str, Certificate] = {}
"""Campaign name -> its certificate, for the plotter that logs ``certified.csv``."""


@dataclass
class Certificate:
    """Per-sample bounds of one campaign (arrays over all ``n`` target samples)."""

    eps: float
    norm: str
    mode: str
    attacked: np.ndarray
    """bool: samples some trial attacked (the bounds cover these)."""
    attacked_robust: np.ndarray
    """bool: the attack's worst case left them robust (the upper bound's samples)."""
    certified: np.ndarray
    by: list[str] = field(default_factory=list)
    """Per sample: the bound that certified it (``ibp``, ``crown``, ``alpha-crown``) or ``""``."""
    margin: np.ndarray | None = None
    """The best lower bound of the smallest margin ``z_y - z_j`` found (``nan``: none)."""
    lipschitz: np.ndarray | None = None
    """A bound on the local Lipschitz constant of the margins over the ball (``nan``: none)."""
    seconds: float = 0.0
    campaign_seconds: float = math.nan
    not_reached: int = 0
    """Open samples the time cap left to no CROWN bound."""
    skipped: str = ""
    """Why nothing was certified (``--certify off``, an unsupported layer or norm)."""
    ran: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return int(self.attacked.sum())

    @property
    def certified_accuracy(self) -> float:
        return float((self.certified & self.attacked).sum()) / self.n if self.n else math.nan

    @property
    def attacked_accuracy(self) -> float:
        return float((self.attacked_robust & self.attacked).sum()) / self.n if self.n else math.nan

    @property
    def between(self) -> np.ndarray:
        return self.attacked & self.attacked_robust & ~self.certified

    @property
    def violations(self) -> int:
        """Certified samples the attack broke: a bug in one of them (must be 0)."""
        return int((self.certified & self.attacked & ~self.attacked_robust).sum())

    def line(self) -> str:
        """``certified >= L, attacked <= U; K samples in between`` with what it cost."""
        up = f"attacked <= {self.attacked_accuracy:.3f}"
        if self.skipped:
            return f"{up}; certified: skipped ({self.skipped})"
        how = " then ".join(r.upper() for r in self.ran)
        out = (
            f"certified >= {self.certified_accuracy:.3f} ({how}), {up}; "
            f"{int(self.between.sum())} samples in between, at {self.norm} eps={self.eps:g} "
            f"on {self.n} samples"
        )
        if self.not_reached:
            out += f" ({self.not_reached} left unbounded by the time cap; --certify crown: all)"
        if self.violations:
            out += f"; BUG: {self.violations} certified samples broken by the attack"
        cost = f"certify {self.seconds:.1f} s"
        if math.isfinite(self.campaign_seconds):
            cost += f", campaign {self.campaign_seconds:.0f} s"
        return f"{out} ({cost})"

    def metrics(self) -> dict[str, float]:
        out = {"attacked_accuracy": self.attacked_accuracy, "certify_seconds": self.seconds}
        out["campaign_seconds"] = self.campaign_seconds  # a resume's cap counts it (Certifier)
        if not self.skipped:
            out["certified_accuracy"] = self.certified_accuracy
            out["n_between"] = float(self.between.sum())
            out["n_certified_broken"] = float(self.violations)
        return {k: v for k, v in out.items() if math.isfinite(v)}

    def csv(self) -> str:
        """One row per attacked sample: ``status`` is certified, broken (by the attack or
        clean), or between."""
        buf = io.StringIO()
        buf.write("sample,status,certified,attacked_robust,bound,margin_lower,lipschitz\n")
        nan = np.full(len(self.attacked), np.nan)
        margin = self.margin if self.margin is not None else nan
        lip = self.lipschitz if self.lipschitz is not None else nan
        by = self.by or [""] * len(self.attacked)
        for i in np.flatnonzero(self.attacked):
            c, r = bool(self.certified[i]), bool(self.attacked_robust[i])
            status = "certified" if c else "broken" if not r else "between"
            buf.write(f"{i},{status},{int(c)},{int(r)},{by[i]},{_num(margin[i])},{_num(lip[i])}\n")
        return buf.getvalue()


def _num(v: float) -> str:
    return "" if not math.isfinite(float(v)) else f"{float(v):.6g}"


def certify_campaign(
    target: Any,
    attacked: np.ndarray,
    robust: np.ndarray,
    eps: float,
    norm: str,
    mode: str = "auto",
    cap_s: float | None = None,
) -> Certificate:
    """Bound the ``attacked`` samples of ``target`` (a loaded :class:`~.targets.Target`)
    at ``eps``; ``robust``: the attack's worst case per sample. ``cap_s``: CROWN's time cap
    (``auto`` only; ``None``: none). Never raises for a model or norm it cannot bound."""
    import torch

    from perturbo.kinds.attack.certify import certify
    from perturbo.kinds.attack.certify.ibp import NORMS
    from perturbo.types import PerturboError

    n = len(attacked)
    attacked, robust = np.asarray(attacked, bool), np.asarray(robust, bool) & attacked
    cert = Certificate(eps, norm, mode, attacked, robust, np.zeros(n, bool), [""] * n)
    if mode not in MODES:
        raise PerturboError(f"--certify {mode!r}: use one of {', '.join(MODES)}")
    if mode == "off":
        cert.skipped = "--certify off"
        return cert
    if norm not in NORMS:
        cert.skipped = f"bound propagation covers {', '.join(NORMS)}, not {norm}"
        return cert
    if not attacked.any():
        cert.skipped = "no sample was attacked"
        return cert
    t0 = time.perf_counter()
    cert.margin, cert.lipschitz = np.full(n, np.nan), np.full(n, np.nan)
    rng = (float(target.lo), float(target.hi))

    def run(idx: np.ndarray, method: str) -> None:
        if not len(idx):
            return
        sel = torch.from_numpy(idx).to(target.x.device)
        r = certify(target.model, target.x[sel], target.y[sel], eps, norm, method, rng)
        m = r.min_margin
        better = ~(cert.margin[idx] >= m)  # nan (no bound yet) or a tighter one
        cert.margin[idx] = np.where(better, m, cert.margin[idx])
        if r.lipschitz is not None:
            old = cert.lipschitz[idx]
            cert.lipschitz[idx] = np.where(np.isnan(old), r.lipschitz, np.fmin(old, r.lipschitz))
        for i in idx[r.certified & ~cert.certified[idx]]:
            cert.by[i] = method
        cert.certified[idx] |= r.certified
        if method not in cert.ran:
            cert.ran += (method,)

    try:
        run(np.flatnonzero(attacked), "ibp")
        if mode != "ibp":
            todo = np.flatnonzero(robust & ~cert.certified)
            cap = cap_s if mode == "auto" else None
            k, size, rate = 0, CHUNK if cap is None else FIRST_CHUNK, 0.0
            while k < len(todo):
                if cap is not None:  # the next chunk only where it ends within the cap
                    left = cap - (time.perf_counter() - t0)
                    size = min(size, int(left / rate)) if rate > 0 else size
                    if left <= 0 or size < 1:
                        cert.not_reached = len(todo) - k
                        break
                t1 = time.perf_counter()
                run(todo[k : k + size], "crown")
                rate = (time.perf_counter() - t1) / len(todo[k : k + size])
                k, size = k + size, CHUNK
        if mode == "alpha":
            run(np.flatnonzero(robust & ~cert.certified), "alpha-crown")
    except PerturboError as e:
        cert.skipped = f"{str(e).removeprefix('certify: ')}; certification skipped"
    except Exception as e:  # noqa: BLE001 - a bound that fails must not fail the campaign
        cert.skipped = f"{type(e).__name__}: {e}; certification skipped"
    if cert.skipped:
        cert.certified[:] = False
        cert.by = [""] * n
    cert.seconds = time.perf_counter() - t0
    return cert


class Certifier:
    """What a campaign calls once at its end with its worst case (see the module); built
    with the campaign, so its clock measures the campaign's wall time for the cap.
    ``prior_s``: the wall time of the campaign's earlier runs (a resume: the
    ``campaign_seconds`` its last ending logged, :func:`prior_seconds`), so a resumed
    campaign's cap is a share of its whole time, not of the resumed part only."""

    def __init__(
        self,
        recipe: Any,
        eps: float,
        norm: str,
        mode: str,
        campaign: str = "",
        prior_s: float = 0.0,
    ) -> None:
        self.recipe, self.eps, self.norm, self.mode = recipe, eps, norm, mode
        self.campaign = campaign
        self.prior_s = prior_s if math.isfinite(prior_s) and prior_s > 0 else 0.0
        self.started = time.perf_counter()
        self.result: Certificate | None = None

    def cap_s(self, elapsed: float) -> float | None:
        return max(CAP_MIN_S, CAP_SHARE * elapsed) if self.mode == "auto" else None

    def __call__(self, wc: Any) -> Certificate:
        from perturbo.kinds.attack.campaign import LOADED

        elapsed = self.prior_s + time.perf_counter() - self.started
        if self.mode == "off":
            target = None
        else:
            target = LOADED.get(self.recipe)
            target = self.recipe.load() if target is None else target
        if target is None:
            cert = certify_campaign(None, wc.attacked, wc.robust, self.eps, self.norm, "off")
        else:
            cert = certify_campaign(
                target, wc.attacked, wc.robust, self.eps, self.norm, self.mode, self.cap_s(elapsed)
            )
        cert.campaign_seconds = elapsed
        self.result = cert
        RESULTS[self.campaign] = cert
        wc.certificate = cert
        return cert


def prior_seconds(store: Any, campaign: str) -> float:
    """The wall time a recorded campaign had run when it last ended (0: none recorded, a new
    campaign, or one recorded before this was logged)."""
    if store is None or not campaign:
        return 0.0
    try:
        metrics = store.summary(campaign).metrics
    except Exception:  # noqa: BLE001 - a new campaign (not in the store yet): nothing before
        return 0.0
    value = metrics.get("final_campaign_seconds", metrics.get("campaign_seconds", 0.0))
    return float(value) if math.isfinite(float(value)) else 0.0


def certified_plot(data: Any) -> dict[str, Any]:
    """``certified.csv``: the campaign's per-sample certificate (nothing where it has none)."""
    from perturbo.kinds.attack.plots import TextArtifact

    cert = RESULTS.get(data.campaign)
    if cert is None or cert.skipped:
        return {}
    return {"certified.csv": TextArtifact(cert.csv())}


__all__ = [
    "CAP_MIN_S",
    "CAP_SHARE",
    "MODES",
    "RESULTS",
    "Certificate",
    "Certifier",
    "certified_plot",
    "certify_campaign",
    "prior_seconds",
]
