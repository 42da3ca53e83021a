"""The attack kind's plotters (``PlotData -> {file: Figure}``), logged at the end of a campaign.

- ``worst_case.png``: worst-case robust accuracy over all samples against the passes spent
  (never a trial's own accuracy on its cascade subset), with ``--reference ACC@PASSES``.
- ``adversarial_examples.png``: clean vs adversarial images of samples the trial that broke
  the most fooled, its config run again on just those (the passes it takes are counted and
  shown in the title; the only plot that attacks again).
- ``robust_accuracy_vs_eps.png``: the campaign's own worst-case robust accuracy at each eps
  its trials ran at (from their per-sample results, nothing recomputed), clean accuracy at 0.
- ``pareto_front.png``: success rate vs median perturbation norm (colour: passes), the
  non-dominated trials joined; only trials that attacked the same samples (under the cascade
  the largest such group, usually the opening round on every sample).
- ``certified.csv``: the certified lower bound per sample (:mod:`.report`).
- ``per_sample.png`` and ``per_sample.csv``: which trial broke which sample.

The recomputing plotters need the campaign's target, found by campaign name in
:data:`perturbo.kinds.attack.campaign.CAMPAIGNS` (``PlotData`` carries no config); they draw
nothing where it is not there. ``per_sample.csv`` goes through the plot channel as a
:class:`TextArtifact` (an object with ``savefig``) until the recorder has an artifact hook.
"""

from __future__ import annotations

import math
from typing import Any

from perturbo.kinds.attack.plots_pareto import pareto_plot, same_samples
from perturbo.plots import PlotData, _figure, set_title
from perturbo.types import Observation, Status


def certified_plot(*args: Any, **kwargs: Any) -> Any:
    """:func:`perturbo.kinds.attack.report.certified_plot`, imported when drawn: the spec lists
    the plotters at import, and the report pulls numpy, which ``perturbo --help`` should not."""
    from perturbo.kinds.attack.report import certified_plot as draw

    return draw(*args, **kwargs)


MAX_IMAGES = 8


class TextArtifact:
    """A text file riding the plotters' ``{name: figure}`` channel (``savefig`` writes it)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def savefig(self, path: str, format: str | None = None, **_: Any) -> None:  # noqa: A002
        with open(path, "w") as f:
            f.write(self.text)


def _done(data: PlotData) -> list[Observation]:
    return [o for o in data.history if o.outcome.status is Status.COMPLETED]


def _n_samples(data: PlotData) -> int:
    for o in _done(data):
        v = o.outcome.metrics.get("n_samples")
        if v:
            return int(v)
    return 0


def _strongest(data: PlotData) -> Observation | None:
    """The completed trial that broke the most samples (ties: the fewest passes)."""
    done = _done(data)
    if not done:
        return None

    def broken(o: Observation) -> tuple[float, float]:
        m = o.outcome.metrics
        n_att = m.get("n_attacked", 0.0)
        return (-(n_att * (1 - m.get("robust_accuracy", 1.0))), m.get("passes", 0.0))

    return min(done, key=broken)


_TARGETS: dict[Any, Any] = {}


def _load(recipe: Any) -> Any:
    """The campaign's target, loaded once on the driver for every plotter."""
    from perturbo.kinds.attack.campaign import LOADED

    if recipe not in _TARGETS:
        _TARGETS.clear()
        _TARGETS[recipe] = LOADED[recipe] if recipe in LOADED else recipe.load()
    return _TARGETS[recipe]


def _context(data: PlotData) -> tuple[Any, Any] | None:
    from perturbo.kinds.attack.campaign import CAMPAIGNS

    return CAMPAIGNS.get(data.campaign) or CAMPAIGNS.get("")


def passes_curve(data: PlotData) -> list[tuple[float, float]]:
    """(passes spent so far, worst-case robust accuracy over ALL samples) after each trial, in
    the order trials were recorded: every point is the same quantity on the same samples (a
    trial's own robust accuracy is on the subset the cascade gave it, so it is not drawn).
    Points before every sample was attacked once are left out."""
    from perturbo.kinds.attack.samples import WorstCase

    n = _n_samples(data)
    if not n:
        return []
    ctx = _context(data)
    eps = ctx[1].eps if ctx else max(o.outcome.value("eps") for o in _done(data))
    wc, total, out = WorstCase(n, eps), 0.0, []
    order = sorted(enumerate(data.history), key=lambda t: (t[1].spec.round, t[0]))
    for _, o in order:
        p = o.outcome.metrics.get("passes", 0.0)
        total += float(p) if math.isfinite(p) else 0.0
        wc.update([o])
        acc = wc.accuracy()
        if math.isfinite(acc):
            out.append((total, acc))
    return out


def worst_case_plot(data: PlotData) -> dict[str, Any]:
    """Worst-case robust accuracy against the passes spent (every trial's, failed ones
    included), with ``--reference ACC@PASSES`` drawn beside it where given."""
    from perturbo.kinds.attack.config import parse_reference

    pts = passes_curve(data)
    if not pts:
        return {}
    fig = _figure()
    ax = fig.add_subplot()
    xs, ys = [p for p, _ in pts], [a for _, a in pts]
    ax.step(xs, ys, where="post", marker="o", ms=3, label="worst case over all samples")
    ref = str(data.params.get("reference") or "")
    if ref:
        acc, passes = parse_reference(ref)
        ax.axhline(acc, color="C3", ls="--", lw=1)
        ax.axvline(passes, color="C3", ls=":", lw=1)
        ax.scatter([passes], [acc], color="C3", zorder=3, label=f"reference {ref}")
    ax.set_xscale("log")
    ax.set_xlabel("forward + backward passes spent (all trials)")
    ax.set_ylabel("worst-case robust accuracy")
    ax.set_ylim(-0.02, 1.02)
    set_title(ax, data.campaign, f"worst case {ys[-1]:.3g} after {xs[-1]:,.0f} passes")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=9)
    return {"worst_case.png": fig}


def adversarial_examples_plot(data: PlotData) -> dict[str, Any]:
    """Clean vs adversarial images of samples the strongest trial fooled. Trials keep no
    adversarial inputs, so its config runs again on those few samples: counted, and the
    count is in the title (it is not part of the campaign's passes)."""
    ctx, best = _context(data), _strongest(data)
    if ctx is None or best is None:
        return {}
    import torch

    from perturbo.kinds.attack.attacks import run_attack
    from perturbo.kinds.attack.samples import CLEAN_PREFIX, unpack_bits

    recipe, settings = ctx
    tg = _load(recipe)
    n = len(tg.y)
    bad = unpack_bits(best.outcome.metrics, n)
    wrong = unpack_bits(best.outcome.metrics, n, CLEAN_PREFIX)
    if tg.x.dim() not in (3, 4) or bad is None:
        return {}
    fooled = bad & ~wrong if wrong is not None else bad
    ok = torch.from_numpy(fooled.nonzero()[0][:MAX_IMAGES]).to(tg.x.device)
    if len(ok) == 0:
        return {}
    params = {k: v for k, v in best.spec.params.items() if k not in ("samples", "pass_budget")}
    eps = float(params.get("eps", settings.eps))
    before = tg.model.counts()
    with torch.enable_grad():
        xa = run_attack(tg, params, eps=eps, norm=settings.norm, idx=ok, seed=settings.seed)
    from perturbo.kinds.attack.pgd import project

    if settings.norm in ("linf", "l2"):
        xa = project(tg.x[ok], xa, eps, settings.norm, tg.lo, tg.hi)
    with torch.no_grad():
        pa = tg.model.predict(xa).argmax(1)
    after = tg.model.counts()
    redrawn = sum(after[k] - before[k] for k in after)
    fig = _figure(1.4 * max(len(ok), 3), 3.2)
    for j, i in enumerate(ok.tolist()):
        for row, (img, lab) in enumerate(((tg.x[i], int(tg.clean_pred[i])), (xa[j], int(pa[j])))):
            ax = fig.add_subplot(2, len(ok), row * len(ok) + j + 1)
            im = img.detach().cpu().numpy()
            ax.imshow(
                im[0]
                if im.ndim == 3 and im.shape[0] == 1
                else im.transpose(1, 2, 0)
                if im.ndim == 3
                else im,
                cmap="gray",
                vmin=tg.lo,
                vmax=tg.hi,
            )
            ax.set_title(
                ("clean " if row == 0 else "adv ") + str(lab),
                color="C3" if row == 1 and lab != int(tg.y[i]) else "black",
                fontsize=8,
            )
            ax.axis("off")
    import textwrap

    m = len(ok)  # the redraw need not fool them all again (a random start, fewer samples):
    k = int((pa.cpu() != tg.y[ok].cpu()).sum())  # count only the pairs drawn as fooled (red)
    held = f"; the other {m - k} held in the redraw" if k < m else ""
    what = f"{data.campaign}: {params.get('method')} ({settings.norm}, eps {eps:g}), "
    what += f"trial {best.spec.id}, on {k if k == m else f'{k} of the {m}'} samples it fooled "
    what += f"(redrawn: {redrawn:,} passes{held})"
    fig.suptitle(textwrap.fill(what, max(20, int(fig.get_figwidth() * 72 / 7.2))), fontsize=11)
    return {"adversarial_examples.png": fig}


def robust_vs_eps_points(data: PlotData) -> list[tuple[float, float]]:
    """(eps, worst-case robust accuracy) from the campaign's own per-sample results: at each
    eps its trials ran at, the share of samples no trial at that eps or below broke (the
    figure the campaign records as ``worst_case_robust_accuracy`` at its eps), and at eps 0
    the clean accuracy. Nothing is attacked again. Points where some sample was never
    attacked at that eps or below are left out (their worst case is unknown)."""
    import numpy as np

    from perturbo.kinds.attack.samples import CLEAN_PREFIX, decode_mask, unpack_bits

    n, done = _n_samples(data), _done(data)
    if not n or not done:
        return []
    trials = []  # (eps, attacked, found non-robust, misclassified clean), each trial unpacked once
    for o in done:
        eps, bad = o.outcome.value("eps"), unpack_bits(o.outcome.metrics, n)
        if bad is None or not math.isfinite(eps):
            continue
        clean = unpack_bits(o.outcome.metrics, n, CLEAN_PREFIX)
        attacked = decode_mask(str(o.spec.params.get("samples", "")), n)
        trials.append((eps, attacked, bad, np.zeros(n, bool) if clean is None else clean))
    if not trials:
        return []
    trials.sort(key=lambda t: t[0])
    attacked, broken, wrong = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    for _, a, _, c in trials:
        attacked |= a
        wrong |= c
    points: list[tuple[float, float]] = []
    if attacked.all():
        points.append((0.0, float((~wrong).sum()) / n))
    attacked[:] = False
    for i, (eps, a, bad, _) in enumerate(trials):
        attacked |= a
        broken |= bad
        last_at_eps = i + 1 == len(trials) or trials[i + 1][0] != eps
        if last_at_eps and eps > 0 and attacked.all():  # as WorstCase.accuracy() counts it
            points.append((eps, float((attacked & ~broken).sum()) / n))
    return points


def robust_vs_eps_plot(data: PlotData) -> dict[str, Any]:
    """The campaign's worst-case robust accuracy against eps (:func:`robust_vs_eps_points`),
    and each trial that attacked every sample at its own eps."""
    points = robust_vs_eps_points(data)
    if len(points) < 2:
        return {}
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(
        [e for e, _ in points],
        [a for _, a in points],
        marker="o",
        color="C0",
        label="worst case over the trials (per sample)",
    )
    whole = [o for o in _done(data) if not o.spec.params.get("samples")]
    if whole:
        ax.scatter(
            [o.outcome.value("eps") for o in whole],
            [o.outcome.value("robust_accuracy") for o in whole],
            s=14,
            alpha=0.6,
            color="C1",
            label="one trial (all samples)",
        )
    e, acc = points[-1]
    ax.annotate(
        f"{acc:.3g}", (e, acc), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8
    )
    ax.set_xlabel("eps")
    ax.set_ylabel("robust accuracy")
    ax.set_ylim(-0.02, 1.08)
    set_title(ax, data.campaign, f"robust accuracy vs eps: worst case {acc:.3g} at eps {e:.3g}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left")
    return {"robust_accuracy_vs_eps.png": fig}


def per_sample_plot(data: PlotData) -> dict[str, Any]:
    from perturbo.kinds.attack.samples import unpack_bits, worst_case

    n = _n_samples(data)
    done = _done(data)
    if not n or not done:
        return {}
    eps = max((o.outcome.value("eps") for o in done), default=0.0)
    ctx = _context(data)
    wc = worst_case(data.history, n, ctx[1].eps if ctx else eps)
    lines = ["sample,broken_by,method"]
    method = {o.spec.id: str(o.spec.params.get("method", "")) for o in done}
    for i, by in wc.table():
        lines.append(f"{i},{by},{method.get(by, '')}")
    import numpy as np

    grid = np.zeros((len(done), n))
    for r, o in enumerate(done):
        bad = unpack_bits(o.outcome.metrics, n)
        if bad is not None:
            grid[r] = bad
    fig = _figure(8, max(3.0, 0.18 * len(done) + 1.5))
    ax = fig.add_subplot()
    ax.imshow(grid, aspect="auto", cmap="Greys", interpolation="nearest")
    ax.set_yticks(range(len(done)))
    ax.set_yticklabels([f"{o.spec.id} {method[o.spec.id]}" for o in done], fontsize=6)
    ax.set_xlabel("sample")
    set_title(
        ax,
        data.campaign,
        f"non-robust samples per trial (black); worst case robust: {int(wc.robust.sum())}/{n}",
    )
    return {"per_sample.png": fig, "per_sample.csv": TextArtifact("\n".join(lines) + "\n")}


ATTACK_PLOTTERS = (
    worst_case_plot,
    adversarial_examples_plot,
    robust_vs_eps_plot,
    pareto_plot,
    per_sample_plot,
    certified_plot,
)

__all__ = [
    "ATTACK_PLOTTERS",
    "TextArtifact",
    "adversarial_examples_plot",
    "certified_plot",
    "pareto_plot",
    "passes_curve",
    "per_sample_plot",
    "robust_vs_eps_plot",
    "robust_vs_eps_points",
    "same_samples",
    "worst_case_plot",
]
