"""BoTorch's exact box decomposition of the non-dominated space, its loops in NumPy.

qLogNEHVI with three or more objectives decomposes the space its baseline does not dominate
into boxes under every MC sample (32 in ``bo``), at construction and again whenever pending
points join its baseline (search/lazy_pending.py). BoTorch's ``FastNondominatedPartitioning``
runs Lacour et al.'s incremental algorithm point by point with PyTorch operations on tensors
of a few rows, where each operation's fixed cost (~5-10 us) is most of the work: cProfile
of ``planner_time.py``'s three-objective ask at 200 observations puts ~1.2 of its ~3.8 CPU s
(after search/baseline_posterior.py) in ``compute_local_upper_bounds`` and
``get_partition_bounds``, which also fills its cell bounds one scalar at a time.

:class:`NumpyNondominatedPartitioning` is that class with ``_partition_space`` and
``_get_partitioning`` running the same two algorithms, step for step, on NumPy arrays. They
only compare, copy and take maxima (no arithmetic), so the cells are the same numbers in the
same order: ``tests/search/test_fast_boxes.py`` checks bitwise equality against BoTorch's on
random fronts of three and four objectives. :class:`NumpyBoxesNEHVI` is qLogNEHVI using it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from botorch.acquisition.multi_objective import logei as _logei
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.utils.multi_objective.box_decompositions.non_dominated import (
    FastNondominatedPartitioning,
)

__all__ = ["NumpyBoxesNEHVI", "NumpyNondominatedPartitioning"]

# BoTorch 0.18's qLog(N)EHVI JIT-compiles an optional fused C++ kernel on its first
# construction in a process (torch cpp_extension, where g++ and ninja exist) with
# ``-march=native``, into ``~/.cache/torch_extensions``: ~20 s of silent compiling in a first
# ask (> 5 min measured on a loaded 2-core box), a binary for this CPU alone that a home
# shared with another CPU reuses (SIGILL), and values that differ in rounding from machines
# that have no compiler. Never loaded wherever perturbo's qLogNEHVI module is imported, so a
# proposal is the pure-PyTorch path's on every machine (tests/search/test_fast_boxes.py).
_logei._load_attempted = True


def _local_upper_bounds(U: Any, Z: Any, z: Any) -> tuple[Any, Any]:
    """BoTorch's ``compute_local_upper_bounds`` (Lacour et al. 2017, Alg. 1, minimising):
    the local upper bounds ``U`` (n x m) and defining points ``Z`` (n x m x m) after the new
    point ``z`` (m)."""
    m = U.shape[-1]
    inside = (U > z).all(axis=-1)
    if not inside.any():
        return U, Z
    A, A_Z = U[inside], Z[inside]
    P, P_Z = [], []
    mask = np.ones(m, dtype=bool)
    for j in range(m):
        mask[j] = False
        add = z[j] >= A_Z[:, mask, j].max(axis=-1).reshape(-1)
        if add.any():
            u_j = A[add].copy()
            u_j[:, j] = z[j]
            P.append(u_j)
            Z_ku = A_Z[add][:, mask]
            P_uj = np.zeros((u_j.shape[0], m, m), dtype=U.dtype)
            P_uj[:, mask] = Z_ku[Z_ku[..., j] <= z[j]].reshape(P_uj.shape[0], m - 1, -1)
            P_uj[:, ~mask] = z
            P_Z.append(P_uj)
        mask[j] = True
    U, Z = U[~inside], Z[~inside]
    if P:
        Z = np.concatenate([Z, *P_Z], axis=0)
        U = np.concatenate([U, *P], axis=-2)
    return U, Z


def _incremental(new: Any, U: Any, Z: Any) -> tuple[Any, Any]:
    """BoTorch's ``update_local_upper_bounds_incremental``: each row of ``new`` in turn."""
    for z in new:
        U, Z = _local_upper_bounds(U, Z, z)
    return U, Z


def _partition_bounds(Z: Any, U: Any, ref: Any) -> Any:
    """BoTorch's ``get_partition_bounds`` (Lacour et al. 2017, Eq. 2), by columns: the
    2 x cells x m bounds, empty cells removed."""
    bounds = np.empty((2, *U.shape), dtype=U.dtype)
    bounds[0, :, 0] = Z[:, 0, 0]
    bounds[1, :, 0] = ref[0]
    for j in range(1, U.shape[-1]):
        bounds[0, :, j] = Z[:, :j, j].max(axis=1)
        bounds[1, :, j] = U[:, j]
    empty = (bounds[1] <= bounds[0]).any(axis=-1)
    return bounds[:, ~empty]


class NumpyNondominatedPartitioning(FastNondominatedPartitioning):
    """``FastNondominatedPartitioning`` with its two passes of Lacour's algorithm in NumPy
    (the same cells; the module's note)."""

    def _partition_space(self) -> None:
        import torch

        if len(self.batch_shape) > 0:
            raise NotImplementedError("_partition_space does not support batch dimensions.")
        neg_ref = self._neg_ref_point.detach().cpu().numpy()
        m = neg_ref.shape[-1]
        U = neg_ref.reshape(1, m).copy()
        Z = np.zeros((1, m, m), dtype=U.dtype)
        for j in range(m):
            Z[0, j] = -np.inf
            Z[0, j, j] = U[0, j]
        U, Z = _incremental(self._neg_pareto_Y.detach().cpu().numpy(), U, Z)
        self.register_buffer("_U", torch.from_numpy(U).to(self.Y))
        self._Z = torch.from_numpy(Z).to(self.Y)
        self._get_partitioning()

    def _get_partitioning(self) -> None:
        import torch

        ref = self.ref_point.detach().cpu().numpy()
        m = ref.shape[-1]
        U2 = np.full((1, m), np.inf, dtype=ref.dtype)
        Z2 = np.broadcast_to(ref, (1, m, m)).copy()
        for j in range(m):
            Z2[0, j, j] = U2[0, j]
        U2, Z2 = _incremental(-self._U.detach().cpu().numpy(), U2, Z2)
        bounds = _partition_bounds(Z2, U2, np.full(m, np.inf, dtype=ref.dtype))
        self._U2, self._Z2 = torch.from_numpy(U2).to(self.ref_point), torch.from_numpy(Z2)
        self.hypercell_bounds = torch.from_numpy(bounds).to(self.ref_point)


class NumpyBoxesNEHVI(qLogNoisyExpectedHypervolumeImprovement):
    """BoTorch's qLogNEHVI decomposing with :class:`NumpyNondominatedPartitioning` where it
    would use ``FastNondominatedPartitioning`` (an exact decomposition: BoTorch's choice for
    up to four objectives); nothing else differs."""

    def _set_cell_bounds(self, num_new_points: int) -> None:
        if self.p_class is FastNondominatedPartitioning:
            self.p_class = NumpyNondominatedPartitioning
        super()._set_cell_bounds(num_new_points)
