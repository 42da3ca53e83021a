"""The one-pixel / few-pixel attack (Su, Vargas & Sakurai 2019) by differential evolution.

Each sample gets its own :class:`perturbo.search.evolution.DifferentialEvolution` over
``[0, 1]^(k (2 + C))``: for each of the ``k`` pixels its row, column and the new value of
each of the ``C`` channels (scaled to the input range). Fitness (maximised) is minus the
model's probability of the true class (the paper's untargeted objective); a sample stops as
soon as one candidate is misclassified. All live samples' candidates of a generation go
through the model in one batch, so the model sees ``popsize`` candidates per sample per
generation (every one counted as a forward pass / query).

The paper's budget on 32x32 CIFAR images is a population of 400 for 75 generations; the
benchmark reports the scaled-down budget it uses on 8x8 digits.
"""

from __future__ import annotations

import numpy as np
import torch

from perturbo.kinds.attack.pgd import AttackResult


def _apply(x: torch.Tensor, cand: np.ndarray, k: int, lo: float, hi: float) -> torch.Tensor:
    """``x`` ``(C, H, W)`` with the pixels of each candidate row set, ``(p, C, H, W)``."""
    c, h, w = x.shape
    p = len(cand)
    out = x.unsqueeze(0).repeat(p, 1, 1, 1)
    v = cand.reshape(p, k, 2 + c)
    rows = np.minimum((v[:, :, 0] * h).astype(int), h - 1)
    cols = np.minimum((v[:, :, 1] * w).astype(int), w - 1)
    vals = torch.from_numpy((lo + (hi - lo) * v[:, :, 2:]).astype(np.float32)).to(x)
    pi = np.repeat(np.arange(p), k)
    r, cc = torch.from_numpy(rows.reshape(-1)), torch.from_numpy(cols.reshape(-1))
    out[torch.from_numpy(pi), :, r, cc] = vals.reshape(-1, c)
    return out


def one_pixel(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    pixels: int = 1,
    popsize: int = 100,
    iters: int = 30,
    lo: float = 0.0,
    hi: float = 1.0,
    seed: int = 0,
) -> AttackResult:
    """Few-pixel attack on images ``x`` ``(n, C, H, W)`` (or ``(n, H, W)``)."""
    from perturbo.search.evolution import DifferentialEvolution

    squeeze = x.dim() == 3
    xi = x.unsqueeze(1) if squeeze else x
    if xi.dim() != 4:
        raise ValueError(
            f"the one-pixel attack needs images (n, C, H, W); got shape {tuple(x.shape)}"
        )
    n, c = xi.shape[0], xi.shape[1]
    k = int(pixels)
    dim = k * (2 + c)
    des = [
        DifferentialEvolution(
            dim, popsize=popsize, F=0.5, CR=1.0, strategy="rand1bin", seed=seed + i, dither=None
        )
        for i in range(n)
    ]
    best = xi.clone()
    fooled = torch.zeros(n, dtype=torch.bool)
    live = list(range(n))
    with torch.no_grad():
        for _gen in range(iters + 1):  # generation 0 is the initial population
            if not live:
                break
            cands = [des[i].ask(popsize) for i in live]
            imgs = torch.cat(
                [_apply(xi[i], cd, k, lo, hi) for i, cd in zip(live, cands, strict=True)]
            )
            z = model(imgs[:, 0] if squeeze else imgs)
            prob = torch.softmax(z, 1)
            pred = z.argmax(1).cpu().numpy()
            still = []
            for j, i in enumerate(live):
                sl = slice(j * popsize, (j + 1) * popsize)
                yi = int(y[i])
                wrong = np.nonzero(pred[sl] != yi)[0]
                if len(wrong):
                    best[i] = imgs[sl][wrong[0]]
                    fooled[i] = True
                    continue
                des[i].tell(cands[j], -prob[sl, yi].cpu().numpy().astype(float))
                still.append(i)
            live = still
    return AttackResult(best[:, 0] if squeeze else best, fooled)


__all__ = ["one_pixel"]
