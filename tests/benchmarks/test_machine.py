"""benchmarks/machine.py: the CPU named in results headers, and the reference timing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # after the packages
import machine  # noqa: E402


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"model name": "AMD EPYC", "flags": "sse avx2 avx512f"}, "AMD EPYC (AVX-512, no AMX)"),
        (
            {"model name": "Intel(R) Xeon(R) Platinum", "flags": "avx2 avx512f amx_tile"},
            "Intel(R) Xeon(R) Platinum (AVX-512, AMX)",
        ),
        ({"model name": "Some CPU", "flags": "sse avx avx2"}, "Some CPU (AVX2)"),
        ({"model name": "Neoverse", "flags": "fp asimd"}, "Neoverse"),
    ],
)
def test_cpu_model_names_the_widest_vector_extension(monkeypatch, info, expected):
    monkeypatch.setattr(machine, "_cpuinfo", lambda: info)
    assert machine.cpu_model() == expected


def test_describe_and_reference_on_this_machine():
    line = machine.describe()
    assert "CPUs" in line and "Python" in line
    ref = machine.reference_cpu_s(n=200, repeats=3)
    assert 0.0 < ref < 5.0
