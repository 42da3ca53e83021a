"""Certified bounds (issue 21 item 6): sound against an exhaustive check and against
sampling, CROWN tighter than IBP, BatchNorm folded exactly, unsupported layers refused.

The exhaustive check: a 2-layer ReLU MLP on 2-D inputs is linear on every cell of the
arrangement of its hidden neurons' lines, so the exact minimum of a margin over a box is
attained at a cell vertex: a box corner, a line crossing a box edge, or two lines crossing
inside the box. Evaluating every such point gives the exact worst case.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from perturbo.kinds.attack.certify import certify
from perturbo.kinds.attack.certify.crown import crown_bounds, spec_lower_alpha, spec_lower_crown
from perturbo.kinds.attack.certify.ibp import domain, ibp_bounds, margin_spec, spec_lower_ibp
from perturbo.kinds.attack.certify.layers import extract
from perturbo.kinds.attack.certify.lipschitz import lipschitz_bounds

EPS = 0.08


@pytest.fixture(scope="module")
def toy() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A 2-16-3 ReLU MLP trained on three overlapping blobs in [0, 1]^2; 80 test points."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.3, 0.3], [0.7, 0.35], [0.5, 0.75]])
    y = torch.randint(0, 3, (480,), generator=g)
    x = (centres[y] + 0.12 * torch.randn(480, 2, generator=g)).clamp(0, 1)
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.Adam(net.parameters(), lr=0.03)
    for _ in range(300):
        loss = nn.functional.cross_entropy(net(x[:400]), y[:400])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net, x[400:], y[400:]


def _cell_vertices(net: nn.Sequential, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    W, b = net[0].weight.double().numpy(), net[0].bias.double().numpy()
    pts = [np.array(c) for c in itertools.product((lo[0], hi[0]), (lo[1], hi[1]))]
    for w, c in zip(W, b, strict=True):  # line w.x + c = 0 against the four edges
        for axis in (0, 1):
            other = 1 - axis
            for v in (lo[axis], hi[axis]):
                if abs(w[other]) > 1e-12:
                    p = np.empty(2)
                    p[axis], p[other] = v, -(c + w[axis] * v) / w[other]
                    pts.append(p)
    for i, j in itertools.combinations(range(len(W)), 2):
        M = np.stack([W[i], W[j]])
        if abs(np.linalg.det(M)) > 1e-12:
            pts.append(np.linalg.solve(M, -np.array([b[i], b[j]])))
    P = np.stack(pts)
    keep = np.all((P >= lo - 1e-12) & (P <= hi + 1e-12), axis=1)
    return np.clip(P[keep], lo, hi)


def _exact_min_margins(net: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """(n, 3): the exact minimum of z_y - z_j over the Linf box (inf at j = y)."""
    out = np.full((len(x), 3), np.inf)
    for i, (xi, yi) in enumerate(zip(x.double().numpy(), y.numpy(), strict=True)):
        lo, hi = np.clip(xi - EPS, 0, 1), np.clip(xi + EPS, 0, 1)
        P = torch.from_numpy(_cell_vertices(net, lo, hi)).float()
        z = net(P)
        for j in range(3):
            if j != yi:
                out[i, j] = float((z[:, yi] - z[:, j]).min())
    return out


def test_certified_agrees_with_exhaustive_check_on_a_2d_mlp(toy: tuple) -> None:
    net, x, y = toy
    exact = _exact_min_margins(net, x, y)
    clean = (net(x).argmax(1) == y).numpy()
    truly_robust = clean & (exact > 0).all(1)
    # a dense grid over each box: a cross-check of the vertex enumeration itself
    grid = torch.stack(torch.meshgrid(*[torch.linspace(-EPS, EPS, 41)] * 2, indexing="ij"), -1)
    for i in range(len(x)):
        pts = (x[i] + grid.reshape(-1, 2)).clamp(0, 1)
        z = net(pts)
        m = (z[:, y[i]][:, None] - z).numpy()
        m[:, int(y[i])] = np.inf
        assert m.min() >= exact[i].min() - 1e-5, f"sample {i}: the grid beat the vertex search"
    shares = {}
    for method in ("ibp", "crown", "alpha-crown"):
        r = certify(net, x, y, EPS, method=method)
        assert (r.margin_lower <= exact + 1e-5).all(), f"{method}: bound above the true minimum"
        assert not (r.certified & ~truly_robust).any(), f"{method} certified a breakable sample"
        shares[method] = r.certified.sum() / max(1, truly_robust.sum())
    print(f"\ncertified / truly robust (n={len(x)}, {truly_robust.sum()} truly robust): {shares}")
    assert truly_robust.sum() >= 40  # the check has something to agree with
    assert shares["crown"] >= 0.85  # CROWN nearly exact on a 16-neuron net
    assert shares["crown"] >= shares["ibp"]


def _conv_net() -> nn.Sequential:
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(24, 12),
        nn.BatchNorm1d(12),
        nn.ReLU(),
        nn.Linear(12, 4),
    )
    with torch.no_grad():
        for m in net:
            if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net.eval()


def _inside(x: torch.Tensor, eps: float, n: int, gen: torch.Generator) -> torch.Tensor:
    """n points of the Linf box around each x (half of them at vertices), in [0, 1]."""
    u = torch.rand((n, *x.shape), generator=gen) * 2 - 1
    u[: n // 2] = u[: n // 2].sign()
    return (x[None] + eps * u).clamp(0, 1)


def test_conv_bounds_contain_every_sampled_output() -> None:
    net = _conv_net()
    gen = torch.Generator().manual_seed(2)
    x = torch.rand((6, 1, 8, 8), generator=gen)
    y = net(x).argmax(1)
    eps = 0.03
    ops = extract(net, (1, 8, 8))
    d = domain(x, eps, "linf", 0.0, 1.0)
    ibp = ibp_bounds(ops, d)
    crown = crown_bounds(ops, d, ibp)
    C = margin_spec(y, 4)
    low = {
        "ibp": spec_lower_ibp(ops, ibp, C),
        "crown": spec_lower_crown(ops, crown, d, C),
        "alpha": spec_lower_alpha(ops, crown, d, C, steps=10),
    }
    L = lipschitz_bounds(ops, crown, C, "linf")
    pts = _inside(x, eps, 2000, gen)  # (2000, 6, 1, 8, 8)
    with torch.no_grad():
        z = net(pts.reshape(-1, 1, 8, 8)).reshape(2000, 6, 4)
    margins = z.gather(2, y[None, :, None].expand(2000, 6, 1)) - z  # (2000, 6, 4)
    for lo, up in (crown[1], crown[-1], ibp[-1]):
        assert lo.shape == up.shape and (lo <= up + 1e-6).all()
    zz = z.reshape(2000, 6, 4)
    for lo, up in (ibp[-1], crown[-1]):
        assert (zz >= lo - 1e-4).all() and (zz <= up + 1e-4).all()
    for name, lb in low.items():
        assert (margins >= lb[None] - 1e-4).all(), f"{name}: a sampled margin below its bound"
    z0 = net(x)
    m0 = z0.gather(1, y[:, None]) - z0
    dist = (pts - x[None]).flatten(2).abs().amax(-1)  # (2000, 6)
    assert ((margins - m0[None]).abs() <= L[None] * dist[..., None] + 1e-4).all()


def test_crown_is_tighter_than_ibp(toy: tuple) -> None:
    gaps = []
    for net, x, eps in (
        (toy[0], toy[1], EPS),
        (_conv_net(), torch.rand((16, 1, 8, 8), generator=torch.Generator().manual_seed(3)), 0.02),
    ):
        y = net(x).argmax(1)
        ops = extract(net, tuple(x.shape[1:]))
        d = domain(x, eps, "linf", 0.0, 1.0)
        ibp = ibp_bounds(ops, d)
        crown = crown_bounds(ops, d, ibp)
        C = margin_spec(y, ops[-1].W.shape[0])
        li, lc = spec_lower_ibp(ops, ibp, C), spec_lower_crown(ops, crown, d, C)
        la = spec_lower_alpha(ops, crown, d, C, steps=10)
        assert (lc >= li - 1e-4).all(), "CROWN looser than IBP somewhere"
        assert (la >= lc - 1e-6).all()
        gaps.append(float((lc - li).mean()))
        for (il, iu), (cl, cu) in zip(ibp, crown, strict=True):  # intermediate widths too
            assert ((cu - cl) <= (iu - il) + 1e-5).all()
    print(f"\nmean margin-bound gap CROWN - IBP (toy MLP, conv net): {gaps}")
    assert all(g > 0 for g in gaps)


def test_batchnorm_is_folded_exactly() -> None:
    net = _conv_net()
    ops = extract(net, (1, 8, 8))
    # conv+BN, relu, maxpool, conv, relu, avgpool+flatten+linear+BN, relu, linear
    names = [type(op).__name__ for op in ops]
    assert names == ["Affine", "Relu", "MaxPool", "Affine", "Relu", "Affine", "Relu", "Affine"]
    from perturbo.kinds.attack.certify.layers import forward

    x = torch.rand((10, 1, 8, 8), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert torch.allclose(forward(ops, x), net(x), atol=1e-5)
    from perturbo.kinds.attack.model import CountingModel

    wrapped = CountingModel(net, mean=(0.4,), std=(0.2,)).eval()  # normalisation folded too
    with torch.no_grad():
        assert torch.allclose(forward(extract(wrapped, (1, 8, 8)), x), wrapped(x), atol=1e-4)
    scripted = torch.jit.script(net)
    with torch.no_grad():
        assert torch.allclose(forward(extract(scripted, (1, 8, 8)), x), net(x), atol=1e-5)


def test_unsupported_layer_is_named() -> None:
    from perturbo.types import PerturboError

    net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 3)).eval()
    with pytest.raises(
        PerturboError, match=r"'Tanh' is not supported; supported: .*Conv2d.*ReLU.*MaxPool2d"
    ):
        certify(net, torch.rand(3, 2), torch.zeros(3, dtype=torch.long), 0.1)

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.fc(x)

    with pytest.raises(PerturboError, match="'Residual' is not supported"):
        certify(Residual().eval(), torch.rand(3, 2), torch.zeros(3, dtype=torch.long), 0.1)
    bn = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(PerturboError, match="training mode"):
        certify(bn, torch.rand(3, 2), torch.zeros(3, dtype=torch.long), 0.1)


def test_gradient_bounds_contain_every_sampled_gradient(toy: tuple) -> None:
    """The Lipschitz bound's elementwise gradient intervals hold at grid points of each box
    (they span every activation cell), and so does the Lipschitz bound itself."""
    from perturbo.kinds.attack.certify.lipschitz import gradient_interval

    net, x, y = toy
    ops = extract(net, (2,))
    d = domain(x, EPS, "linf", 0.0, 1.0)
    bounds = crown_bounds(ops, d)
    C = margin_spec(y, 3)
    gl, gu = gradient_interval(ops, bounds, C)  # (n, 3, 2)
    L = lipschitz_bounds(ops, bounds, C, "linf")
    grid = torch.stack(torch.meshgrid(*[torch.linspace(-EPS, EPS, 21)] * 2, indexing="ij"), -1)
    for i in range(len(x)):
        pts = (x[i] + grid.reshape(-1, 2)).clamp(0, 1).requires_grad_(True)
        for j in range(3):
            z = net(pts)
            (g,) = torch.autograd.grad((z[:, y[i]] - z[:, j]).sum(), pts)
            assert (g >= gl[i, j] - 1e-5).all() and (g <= gu[i, j] + 1e-5).all(), i
            assert (g.abs().sum(1) <= L[i, j] + 1e-5).all()


def test_maxpool_relaxation_against_the_exact_minimum() -> None:
    """MaxPool then a linear layer of mixed signs, windows disjoint: each term is monotone
    in its window, so the exact minimum is sum_o w_o * (max l if w_o >= 0 else max u)."""
    gen = torch.Generator().manual_seed(5)
    net = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4, 6)).eval()
    with torch.no_grad():
        net[2].weight.copy_(torch.randn(6, 4, generator=gen))
        net[2].bias.zero_()
    x = torch.rand((20, 1, 4, 4), generator=gen)
    eps = 0.3
    ops = extract(net, (1, 4, 4))
    d = domain(x, eps, "linf", 0.0, 1.0)
    bounds = crown_bounds(ops, d)
    C = torch.eye(6)[None].expand(20, -1, -1)
    lb = spec_lower_crown(ops, bounds, d, C)
    xl, xu = d.xl.reshape(20, 1, 4, 4), d.xu.reshape(20, 1, 4, 4)
    ml = nn.functional.max_pool2d(xl, 2).flatten(1)
    mu = nn.functional.max_pool2d(xu, 2).flatten(1)
    W = net[2].weight
    exact = ml @ W.clamp_min(0).T + mu @ W.clamp_max(0).T
    assert (lb <= exact + 1e-5).all()
    assert torch.allclose(lb, exact, atol=1e-5)  # the relaxation is exact here


def test_adaptive_slope_beats_its_opposite(toy: tuple) -> None:
    """CROWN's adaptive lower slope (1 where u > -l) gives tighter bounds on average than
    the opposite choice (both are sound)."""
    from perturbo.kinds.attack.certify.layers import Relu

    net, x, y = toy
    ops = extract(net, (2,))
    d = domain(x, EPS, "linf", 0.0, 1.0)
    bounds = crown_bounds(ops, d)
    C = margin_spec(y, 3)
    flipped = {}
    for j, op in enumerate(ops):
        if isinstance(op, Relu):
            lo, up = bounds[j]
            flipped[j] = (up <= -lo).float()[:, None, :].expand(-1, 3, -1)
    adaptive = spec_lower_crown(ops, bounds, d, C)
    opposite = spec_lower_crown(ops, bounds, d, C, flipped)
    assert adaptive.mean() > opposite.mean()


def test_l2_bounds_hold_on_the_ball_boundary(toy: tuple) -> None:
    net, x, y = toy
    eps = 0.1
    r = certify(net, x, y, eps, norm="l2", method="crown")
    angles = torch.linspace(0, 2 * torch.pi, 721)
    circle = torch.stack([angles.cos(), angles.sin()], 1)
    for i in range(len(x)):
        pts = torch.cat([x[i] + eps * circle, x[i] + eps / 2 * circle]).clamp(0, 1)
        z = net(pts)
        for j in range(3):
            if j != int(y[i]):
                assert float((z[:, y[i]] - z[:, j]).min()) >= r.margin_lower[i, j] - 1e-5
    # the L2 ball lies in the Linf ball of the same eps, and every L2 bound is the better of
    # the ball's and that box's: never looser than the Linf bound
    linf = certify(net, x, y, eps, norm="linf", method="crown")
    assert (r.margin_lower >= linf.margin_lower - 1e-5).all()
    assert (r.margin_lower > linf.margin_lower + 1e-3).any()
    assert r.lipschitz is not None and (r.lipschitz > 0).all()


def test_builtin_digits_certified_below_attacked(digits_target: object) -> None:
    """On the kind's own (test-trained) digits CNN, through its TorchScript and counting
    wrapper: certified accuracy <= PGD's robust accuracy, no certified sample is fooled,
    and certifying costs the model no counted passes."""
    from perturbo.kinds.attack.evaluate import assess
    from perturbo.kinds.attack.pgd import pgd

    t = digits_target
    x, y = t.x[:40], t.y[:40]
    t.model.reset()
    r = certify(t.model, x, y, 0.05, method="crown", input_range=(t.lo, t.hi))
    assert t.model.counts() == {"forward_passes": 0, "backward_passes": 0}
    adv = pgd(t.model, x, y, eps=0.05, steps=20, restarts=2, loss="cw", lo=t.lo, hi=t.hi)
    a = assess(t.model, x, y, adv.x_adv, eps=0.05, norm="linf", lo=t.lo, hi=t.hi)
    assert not (r.certified & ~a.robust).any()
    assert r.certified_accuracy <= a.summary()["robust_accuracy"]
    assert r.certified_accuracy > 0.2  # CROWN certifies a good share at this eps


def test_certified_summary_line(toy: tuple) -> None:
    """The line a campaign's end report takes: certified >= L, attacked <= U, the samples in
    between; an unsupported model gives a line, not an exception."""
    from perturbo.kinds.attack.certify import certified_summary

    net, x, y = toy
    crown = certify(net, x, y, EPS)
    robust = crown.certified.copy()
    robust[~crown.certified & crown.clean_correct] = True  # an attack that broke nothing
    line = certified_summary(net, x, y, EPS, "linf", (0.0, 1.0), attacked_robust=robust)
    between = int((robust & ~crown.certified).sum())
    assert f"certified >= {crown.certified_accuracy:.3f} (CROWN" in line
    assert f"attacked <= {robust.mean():.3f}; {between} samples in between" in line
    assert "BUG" not in line
    robust[np.flatnonzero(crown.certified)[0]] = False  # an "attack" breaking a certified one
    assert "BUG: 1 certified" in certified_summary(
        net, x, y, EPS, "linf", (0.0, 1.0), attacked_robust=robust
    )
    tanh = nn.Sequential(nn.Linear(2, 3), nn.Tanh()).eval()
    assert "n/a" in certified_summary(tanh, x, y, EPS, "linf", (0.0, 1.0))
    assert "n/a" in certified_summary(net, x, y, 3, "l0", (0.0, 1.0))
