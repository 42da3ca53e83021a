"""Certified lower bounds beside the attack (issue 21 item 6): per built-in target and eps,
clean accuracy, certified robust accuracy by IBP, CROWN and alpha-CROWN, PGD's robust
accuracy (the kind's own PGD, CE then CW, judged by the kind's ``assess``), seconds.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/certify.py              # ~5 min, 2 cores
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/certify.py --samples 50 # a smoke run

Soundness bar: certified <= attacked on every row, and no sample certified that PGD broke
(the ``violations`` column must be 0). Run with a Python where auto_LiRPA imports and the
script adds a comparison of our bounds with auto_LiRPA's on the same samples. 0.3 does not
import on torch 2 / numpy 2; the committed results came from a throwaway venv that sees
this one's packages (``python3 -m venv --system-site-packages``, a ``.pth`` calling
``site.addsitedir`` on ``.venv``'s site-packages), with ``pip install --no-deps
auto_LiRPA==0.3 appdirs`` and ``benchmarks/certify_auto_lirpa.patch`` applied (5 lines).

Writes ``benchmarks/results/certify.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent
TARGETS = ("digits-cnn", "digits-cnn-adv", "wine-mlp")
LINF_EPS = (0.02, 0.05, 0.1)
L2_EPS = {"digits-cnn": 0.1, "digits-cnn-adv": 0.1, "wine-mlp": 0.1}


def attacked(t: Any, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str) -> np.ndarray:
    """Per-sample robustness under PGD-50 with CE, then PGD-50 with CW on the rest."""
    from perturbo.kinds.attack.evaluate import assess
    from perturbo.kinds.attack.pgd import pgd

    robust = np.ones(len(x), bool)
    for loss, seed in (("ce", 0), ("cw", 1)):
        adv = pgd(
            t.model, x, y, eps=eps, norm=norm, steps=50, loss=loss, lo=t.lo, hi=t.hi, seed=seed
        )
        a = assess(t.model, x, y, adv.x_adv, eps=eps, norm=norm, lo=t.lo, hi=t.hi)
        robust &= a.robust
    return robust


def row(t: Any, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str, alpha: bool) -> dict:
    from perturbo.kinds.attack.certify import certify

    rng = (t.lo, t.hi)
    out: dict[str, Any] = {"target": t.name, "norm": norm, "eps": eps, "n": len(x)}
    res = {}
    for m in ("ibp", "crown") + (("alpha-crown",) if alpha else ()):
        res[m] = certify(t.model, x, y, eps, norm, m, rng, lipschitz=(m == "crown"), alpha_steps=10)
    t0 = time.perf_counter()
    rob = attacked(t, x, y, eps, norm)
    out["pgd_s"] = time.perf_counter() - t0
    out["clean"] = res["crown"].clean_accuracy
    out["pgd"] = float(rob.mean())
    out["violations"] = int(sum(int((r.certified & ~rob).sum()) for r in res.values()))
    for m, r in res.items():
        out[m] = r.certified_accuracy
        out[f"{m}_s"] = r.seconds
    ok = res["crown"].clean_correct
    mi, mc = res["ibp"].min_margin[ok], res["crown"].min_margin[ok]
    out["gap"] = float(np.mean(mc - mi)) if ok.any() else float("nan")
    if alpha:
        out["alpha_gain"] = float(np.mean(res["alpha-crown"].min_margin[ok] - mc))
    lip = res["crown"].lipschitz
    out["lip"] = float(np.median(lip[ok])) if lip is not None and ok.any() else float("nan")
    return out


def _eager(t: Any) -> torch.nn.Module:
    from torch import nn

    from perturbo.kinds.attack.builtin import digits_cnn_module

    if t.name.startswith("digits"):
        net = digits_cnn_module()
    else:
        net = nn.Sequential(
            nn.Linear(13, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3)
        )
    net.load_state_dict(t.model.net.state_dict())  # type: ignore[operator]
    return net.eval()


def versus_lirpa(t: Any, x: torch.Tensor, y: torch.Tensor, eps: float) -> dict | None:
    """Our IBP/CROWN margin bounds vs auto_LiRPA's on the same samples (Linf, clipped)."""
    try:
        from auto_LiRPA import BoundedModule, BoundedTensor, PerturbationLpNorm
    except Exception as e:  # noqa: BLE001 - reported, not fatal
        return {"error": f"{type(e).__name__}: {e}"}
    from perturbo.kinds.attack.certify import certify
    from perturbo.kinds.attack.certify.ibp import margin_spec

    net = _eager(t)
    K = t.n_classes
    C = margin_spec(y, K)
    keep = torch.ones(K, dtype=torch.bool)
    xl, xu = (x - eps).clamp(t.lo, t.hi), (x + eps).clamp(t.lo, t.hi)
    bm = BoundedModule(net, torch.empty_like(x), device="cpu")
    bx = BoundedTensor(x, PerturbationLpNorm(norm=float("inf"), eps=eps, x_L=xl, x_U=xu))
    out: dict[str, Any] = {"target": t.name, "eps": eps, "n": len(x)}
    for ours_m, their_m in (("ibp", "IBP"), ("crown", "CROWN")):
        t0 = time.perf_counter()
        lb, _ = bm.compute_bounds(x=(bx,), C=C, method=their_m)
        out[f"lirpa_{ours_m}_s"] = time.perf_counter() - t0
        mask = torch.nn.functional.one_hot(y, K).bool()
        theirs = lb.detach().masked_fill(mask, float("inf"))
        r = certify(net, x, y, eps, "linf", ours_m, (t.lo, t.hi), lipschitz=False)
        ours = torch.from_numpy(r.margin_lower)
        fin = ~mask & keep
        out[f"{ours_m}_diff"] = float((ours - theirs)[fin].abs().max())
        out[f"{ours_m}_mean"] = float((ours - theirs)[fin].mean())
        out[f"{ours_m}_min"] = float((ours - theirs)[fin].min())
        cert_theirs = (r.clean_correct & (theirs > 0).all(1).numpy()).sum()
        out[f"{ours_m}_cert"] = (int(r.certified.sum()), int(cert_theirs))
        out[f"{ours_m}_s"] = r.seconds
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--out", default=str(ROOT / "results" / "certify.md"))
    args = p.parse_args()
    torch.set_num_threads(1)
    from perturbo.kinds.attack.targets import TargetRecipe

    rows, lirpa = [], []
    t_all = time.perf_counter()
    for name in TARGETS:
        t = TargetRecipe(name, n_samples=args.samples, device="cpu").load()
        x, y = t.x, t.y
        for eps in LINF_EPS:
            rows.append(row(t, x, y, eps, "linf", alpha=True))
            print(rows[-1], flush=True)
        rows.append(row(t, x, y, L2_EPS[name], "l2", alpha=False))
        print(rows[-1], flush=True)
        lirpa.append(versus_lirpa(t, x[:20], y[:20], 0.05))
        print(lirpa[-1], flush=True)
    write(args.out, rows, lirpa, time.perf_counter() - t_all, args.samples)


def _f(v: Any, nd: int = 3) -> str:
    return "" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def write(path: str, rows: list[dict], lirpa: list[dict | None], total: float, n: int) -> None:
    lines = [
        "# Certified lower bounds beside the attack",
        "",
        f"`benchmarks/certify.py --samples {n}`, one run, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, numpy "
        f"{np.__version__}, one thread on a shared 2-core box; total {total:.0f} s.",
        "",
        "Certified = correct and every margin's lower bound > 0 over the eps-ball clipped to the"
        " input range (a lower bound on robust accuracy); PGD = robust under PGD-50 (CE) and"
        " PGD-50 (CW), judged by the kind's `assess` (an upper bound). `violations`: samples"
        " certified by any method that PGD broke (must be 0). `gap`: mean over correctly"
        " classified samples of (CROWN - IBP) lower bound of the smallest margin; `alpha gain`:"
        " the same for alpha-CROWN (10 Adam steps) over CROWN. `Lip`: median bound on the"
        " local Lipschitz constant of the margins over the ball (dual norm of the gradient"
        " bound, max over classes), from the CROWN bounds.",
        "",
        "| target | norm | eps | n | clean | IBP | CROWN | alpha-CROWN | PGD | violations "
        "| gap | alpha gain | Lip | s IBP / CROWN / alpha / PGD |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        secs = " / ".join(
            _f(r.get(k), 1) if k in r else "-"
            for k in ("ibp_s", "crown_s", "alpha-crown_s", "pgd_s")
        )
        lines.append(
            f"| {r['target']} | {r['norm']} | {r['eps']:g} | {r['n']} | {_f(r['clean'])} "
            f"| {_f(r['ibp'])} | {_f(r['crown'])} | {_f(r.get('alpha-crown')) or '-'} "
            f"| {_f(r['pgd'])} | {r['violations']} | {_f(r['gap'])} "
            f"| {_f(r.get('alpha_gain'), 4) or '-'} | {_f(r['lip'], 1)} | {secs} |"
        )
    bad = [r for r in rows if r["violations"] or r["crown"] > r["pgd"] or r["ibp"] > r["pgd"]]
    lines += [
        "",
        f"Soundness: {'FAILED on ' + str(len(bad)) + ' rows' if bad else 'certified <= PGD and 0 violations on every row'}.",
        "",
    ]
    lines += ["## Against auto_LiRPA 0.3 (patched to import on this stack)", ""]
    if not lirpa or all(v is None or "error" in v for v in lirpa):
        err = next((v["error"] for v in lirpa if v and "error" in v), "not run")
        lines.append(f"Not compared in this run: auto_LiRPA does not import ({err}).")
    else:
        lines += [
            "Linf eps 0.05, 20 samples, the same clipped box and margin specification; diff ="
            " max |ours - auto_LiRPA| over the margin lower bounds; min / mean of (ours -"
            " auto_LiRPA) (> 0: ours tighter); cert = samples certified (ours, auto_LiRPA).",
            "",
            "| target | IBP max diff | CROWN max diff | CROWN ours - theirs: min / mean | IBP cert "
            "| CROWN cert | s ours / auto_LiRPA (CROWN) |",
            "|---|---|---|---|---|---|---|",
        ]
        for v in lirpa:
            if v is None or "error" in v:
                continue
            lines.append(
                f"| {v['target']} | {v['ibp_diff']:.2e} | {v['crown_diff']:.2e} | "
                f"{v['crown_min']:.2e} / {v['crown_mean']:.2e} | {v['ibp_cert']} | {v['crown_cert']} | "
                f"{v['crown_s']:.2f} / {v['lirpa_crown_s']:.2f} |"
            )
    Path(path).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
