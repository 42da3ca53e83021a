"""Which machine a benchmark ran on, and a reference timing to compare machines by.

Sessions run on different CPUs (Intel Xeon with AVX-512 and AMX, AMD EPYC, ...), so a time
in a results file says little without the CPU that gave it. ``describe()`` names it (model,
the vector extensions that change torch's kernels, core count, Python); ``reference_cpu_s()``
times one fixed piece of the work every GP planner does (a float64 Cholesky factorisation
and solve of a 1000 x 1000 matrix, one torch thread), so a planner's CPU seconds can be read
against it: a planner at 0.8 s on a machine whose reference is twice this one's is near the
1 s bar for the machine, not for the code.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

__all__ = ["cpu_model", "describe", "reference_cpu_s"]

_FLAGS = (("avx512f", "AVX-512"), ("amx_tile", "AMX"), ("avx2", "AVX2"))


def _cpuinfo() -> dict[str, str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key and key not in out:
            out[key] = value.strip()
    return out


def cpu_model() -> str:
    """The CPU's model name with its widest vector extensions, e.g. ``AMD EPYC (AVX-512)``."""
    info = _cpuinfo()
    name = info.get("model name") or platform.processor() or platform.machine()
    flags = set(info.get("flags", "").split())
    present = [label for flag, label in _FLAGS if flag in flags]
    # AVX2 is implied where AVX-512 is there; name it only as the widest
    if "AVX-512" in present:
        present.remove("AVX2")
    if flags and "AMX" not in present and "avx512f" in flags:
        present.append("no AMX")
    return f"{name} ({', '.join(present)})" if present else name


def describe() -> str:
    """``<cpu model>, <n> CPUs, <arch>, Python <version>``: one line for a results header."""
    return (
        f"{cpu_model()}, {os.cpu_count()} CPUs, {platform.machine()}, "
        f"Python {platform.python_version()}"
    )


def reference_cpu_s(n: int = 1000, repeats: int = 7) -> float:
    """Median CPU seconds of one float64 Cholesky + triangular solve of an ``n x n`` SPD
    matrix on one torch thread (the kernel of a GP fit and posterior)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, dtype=torch.float64, generator=g)
        spd = a @ a.T + n * torch.eye(n, dtype=torch.float64)
        rhs = torch.randn(n, 8, dtype=torch.float64, generator=g)
        times = []
        for _ in range(repeats):
            t0 = time.process_time()
            chol = torch.linalg.cholesky(spd)
            torch.cholesky_solve(rhs, chol)
            times.append(time.process_time() - t0)
        return statistics.median(times)
    finally:
        torch.set_num_threads(threads)
