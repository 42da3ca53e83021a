"""BoTorch's exact non-dominated box decomposition with its loops in NumPy
(search/fast_boxes.py): the same cells, bit for bit, and ``NumpyBoxesNEHVI``
(qLogNEHVI using it) keeps it for every decomposition and gives BoTorch's values."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from botorch.acquisition.multi_objective.logei import (  # noqa: E402
    qLogNoisyExpectedHypervolumeImprovement,
)
from botorch.models import SingleTaskGP  # noqa: E402
from botorch.sampling import SobolQMCNormalSampler  # noqa: E402
from botorch.utils.multi_objective.box_decompositions.non_dominated import (  # noqa: E402
    FastNondominatedPartitioning,
)

from perturbo.search.fast_boxes import NumpyBoxesNEHVI, NumpyNondominatedPartitioning  # noqa: E402


def _fronts() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    out = []
    for m in (3, 4):
        for n in (1, 4, 25, 60):
            Y = torch.rand(n, m, generator=g, dtype=torch.double)
            out.append((Y, torch.full((m,), 0.1, dtype=torch.double)))  # some worse than ref
            out.append((torch.round(Y * 3) / 3, torch.zeros(m, dtype=torch.double)))  # ties
            out.append((Y, Y.min(0).values))  # the reference point on the data's corner
            # a sphere's front: every point Pareto-optimal, many cells
            S = torch.randn(n, m, generator=g, dtype=torch.double).abs()
            out.append((S / S.norm(dim=-1, keepdim=True), torch.zeros(m, dtype=torch.double)))
    return out


@pytest.mark.parametrize("case", range(32))
def test_the_same_cells_bit_for_bit(case: int) -> None:
    Y, ref = _fronts()[case]
    theirs = FastNondominatedPartitioning(ref, Y)
    ours = NumpyNondominatedPartitioning(ref, Y)
    a, b = theirs.get_hypercell_bounds(), ours.get_hypercell_bounds()
    assert a.shape == b.shape and a.dtype == b.dtype
    assert torch.equal(a, b)
    assert torch.equal(theirs.compute_hypervolume(), ours.compute_hypervolume())
    if hasattr(theirs, "_U"):  # not where no point beats the reference (a single cell)
        assert torch.equal(theirs._U, ours._U) and torch.equal(theirs._Z, ours._Z)
    else:
        assert not hasattr(ours, "_U")


def test_qlognehvi_with_numpy_boxes_keeps_them_and_its_values() -> None:
    g = torch.Generator().manual_seed(1)
    X = torch.rand(20, 2, generator=g, dtype=torch.double)
    Y = torch.stack([X[:, 0], 1 - X[:, 0] * X[:, 1], X[:, 1] ** 2], -1)
    model = SingleTaskGP(X, Y).eval()
    Xp = torch.rand(2, 2, generator=g, dtype=torch.double)
    kw = {"ref_point": [0.0, 0.0, 0.0], "X_baseline": X, "prune_baseline": False}
    sampler = lambda: SobolQMCNormalSampler(torch.Size([16]), seed=0)  # noqa: E731
    theirs = qLogNoisyExpectedHypervolumeImprovement(model, sampler=sampler(), **kw)
    ours = NumpyBoxesNEHVI(model, sampler=sampler(), **kw)
    for acq in (theirs, ours):
        acq.set_X_pending(Xp)  # a second decomposition
    assert ours.p_class is NumpyNondominatedPartitioning
    assert all(
        type(p) is NumpyNondominatedPartitioning for p in ours.partitioning.box_decompositions
    )
    assert all(
        type(p) is FastNondominatedPartitioning for p in theirs.partitioning.box_decompositions
    )
    Xq = torch.rand(8, 1, 2, generator=g, dtype=torch.double)
    with torch.no_grad():
        assert torch.equal(theirs(Xq), ours(Xq))


def test_botorchs_jit_compiled_kernel_is_never_loaded() -> None:
    """BoTorch's qLogNEHVI would compile a ``-march=native`` C++ kernel into
    ``~/.cache/torch_extensions`` on first use (where g++ and ninja exist): ~20 s inside a
    first ask, a binary for one CPU, other rounding. Importing search/fast_boxes.py turns that
    off, for BoTorch's own class constructed in this process too (as above)."""
    from botorch.acquisition.multi_objective import logei

    X = torch.rand(6, 2, dtype=torch.double)
    model = SingleTaskGP(X, torch.stack([X[:, 0], X[:, 1]], -1)).eval()
    qLogNoisyExpectedHypervolumeImprovement(model, ref_point=[0.0, 0.0], X_baseline=X)
    assert logei._load_attempted and logei._C is None
