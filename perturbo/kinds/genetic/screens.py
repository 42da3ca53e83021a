"""CRISPR screens: the :class:`Screen` data and how it is loaded (built-in or a user's CSV).

A screen is a table ``Gene,Score`` (one row per knocked-out gene, the measured phenotype),
the set of *hit* genes, and a task description (what is measured, what a hit means).

Rules, in one place:

- **Gene symbols** are matched by their normalised form, whitespace stripped and upper case
  (``" ifng"`` -> ``"IFNG"``), in the CSV, the hits file and every proposal: :attr:`Screen.genes`
  and :attr:`Screen.hits` hold those keys (a mouse ``Cd247`` meets the human gene-set
  libraries' ``CD247`` so). What a user sees and what is recorded is the screen file's own
  spelling (:meth:`Screen.spell`; the gene pool validates a proposal to it), so a mouse
  screen's results join back to the user's table without case-folding.
- **Hits** of a built-in screen come from its shipped ``NAME_hits.npy``. For a user's CSV they
  come from ``--hits hits.txt`` (one gene per line; blank lines and ``#`` comments ignored);
  without one, the hits are the **top 5% of genes by |score|** (both tails, at least one gene),
  the rule that reproduces the IFNG and Carnevale22 screens.
- **Duplicated genes**: the shipped Scharenberg22 table has 6 genes on two rows each; for the
  built-in screens the row with the largest |score| is kept. A user's CSV with duplicated genes
  is an error (which row is right is the user's call): the message lists them.
- **Task**: ``NAME.task.json`` (keys ``Task`` and ``Measurement``) for a built-in screen; for a
  user's CSV the ``--task`` file, else ``STEM.task.json`` beside the CSV, else a default sentence.
- **Study**: screens from one study are siblings (IFNG and IL2 both come from Schmidt et al.
  2022); a transfer prior never learns from the screen being run nor from its siblings. A user
  screen's study is its file stem unless its task.json has a ``Study`` key.
- **Modality and direction**: ``modality`` is ``knockout``, ``crispri`` or ``crispra``;
  ``hit_tail`` is ``both``, ``high`` or ``low`` (which tail of Score the default top-5% hit rule
  takes). Both come from the ``--modality`` / ``--hit-tail`` settings, else the task.json's
  ``Modality`` / ``HitTail`` keys, else the task text (``CRISPRa``/"activation" -> crispra,
  ``CRISPRi``/"interference" -> crispri; "high score"/"enriched" -> high), else knockout / both.
- **Names**: a built-in name (``IFNG``) always means the built-in screen; a user's CSV whose stem
  equals a built-in name is named ``file:STEM`` so it never shadows (nor is confused with) it.
- **Planners see a :class:`ScreenView`** (genes, task text, modality; no scores, no hits): the
  labelled :class:`Screen` stays with the executor and the metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from perturbo.kinds.genetic.screen_files import (
    HIT_FRACTION,
    csv_table,
    normalize_gene,
    read_gene_scores,
    read_hits,
    read_task,
)
from perturbo.types import PerturboError

__all__ = [
    "DATA_DIR",
    "HIT_FRACTION",
    "HIT_TAILS",
    "MODALITIES",
    "Screen",
    "ScreenView",
    "builtin_screens",
    "csv_table",
    "load_screen",
    "normalize_gene",
    "top_fraction",
]

DATA_DIR = Path(__file__).resolve().parent / "data" / "screens"
_BUILTIN_STUDY = {"IFNG": "Schmidt22", "IL2": "Schmidt22"}
MODALITIES = ("knockout", "crispri", "crispra")
HIT_TAILS = ("both", "high", "low")


class _Genes:
    """Shared look-ups over ``genes`` (a canonical, unique tuple) and the task text."""

    genes: tuple[str, ...]
    task: str
    measurement: str
    spelling: Mapping[str, str]
    _index: dict[str, int]

    def index(self, gene: str) -> int:
        """Position of ``gene`` (normalised) in :attr:`genes`; ``KeyError`` if absent."""
        return self._index[normalize_gene(gene)]

    def spell(self, gene: str) -> str:
        """``gene`` (any case) as the screen file spells it (the normalised symbol where the
        file had it so, or the gene is not the screen's): what proposals and records show."""
        key = normalize_gene(gene)
        return self.spelling.get(key, key)

    def __contains__(self, gene: object) -> bool:
        return isinstance(gene, str) and normalize_gene(gene) in self._index

    def __len__(self) -> int:
        return len(self.genes)

    @property
    def description(self) -> str:
        """Task and measurement in one paragraph (for prompts and the text prior)."""
        return f"Task: {self.task}. Measurement: {self.measurement}."


@dataclass(frozen=True, eq=False)
class ScreenView(_Genes):
    """What a planner may know of a screen: its genes, task text, study and modality -- no
    scores and no hits (the type has no such fields, so no planner can read them)."""

    name: str
    genes: tuple[str, ...]
    task: str
    measurement: str
    study: str
    modality: str = "knockout"
    hit_tail: str = "both"
    spelling: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Normalised symbol -> the screen file's spelling, for the genes spelled otherwise."""
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {g: i for i, g in enumerate(self.genes)})


@dataclass(frozen=True, eq=False)
class Screen(_Genes):
    """One screen. ``genes`` are canonical (upper case) and unique; ``scores[i]`` belongs to
    ``genes[i]``; ``hits`` is a subset of ``genes``; ``spelling`` maps a gene to the file's own
    spelling where that is not upper case (:meth:`spell`). Held by the executor and the
    metrics; planners get :meth:`view`."""

    name: str
    genes: tuple[str, ...]
    scores: np.ndarray
    hits: frozenset[str]
    task: str
    measurement: str
    study: str
    modality: str = "knockout"
    hit_tail: str = "both"
    spelling: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Normalised symbol -> the screen file's spelling, for the genes spelled otherwise."""
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {g: i for i, g in enumerate(self.genes)})

    def view(self) -> ScreenView:
        """The label-free view handed to planners."""
        return ScreenView(
            self.name,
            self.genes,
            self.task,
            self.measurement,
            self.study,
            self.modality,
            self.hit_tail,
            self.spelling,
        )

    def score(self, gene: str) -> float:
        return float(self.scores[self.index(gene)])

    def is_hit(self, gene: str) -> bool:
        return normalize_gene(gene) in self.hits

    @property
    def hit_mask(self) -> np.ndarray:
        """Boolean array aligned with :attr:`genes`: True for hits."""
        return np.fromiter((g in self.hits for g in self.genes), bool, len(self.genes))


def builtin_screens() -> tuple[str, ...]:
    """Names of the screens shipped with perturbo, sorted."""
    return tuple(sorted(p.stem for p in DATA_DIR.glob("*.csv")))


def load_screen(
    source: str,
    hits: str | None = None,
    task: str | None = None,
    modality: str | None = None,
    hit_tail: str | None = None,
) -> Screen:
    """A built-in screen by name (case-insensitive) or a user's ``Gene,Score`` CSV by path.

    ``hits``: a text file with one hit gene per line (user CSVs only; without it the top 5% by
    |score| are hits). ``task``: a task.json (``{"Task": ..., "Measurement": ...}``) or the task
    sentence itself. ``modality`` / ``hit_tail``: override what the task json or text implies.
    Raises :class:`PerturboError` naming the bad input and the fix.
    """
    for value, allowed, flag in (
        (modality, MODALITIES, "--modality"),
        (hit_tail, HIT_TAILS, "--hit-tail"),
    ):
        if value is not None and value not in allowed:
            raise PerturboError(f"{flag} {value!r}: use one of {', '.join(allowed)}")
    by_lower = {n.lower(): n for n in builtin_screens()}
    if str(source).lower() in by_lower:  # a built-in name always means the built-in screen
        name = by_lower[str(source).lower()]
        if hits is not None:
            raise PerturboError(
                f"--hits {hits}: the built-in screen {name} ships its own hits; "
                "drop --hits, or copy its CSV and pass that path to use other hits"
            )
        return _load_builtin(name, task, modality, hit_tail)
    path = Path(source)
    if not path.is_file():
        here = (
            ""
            if path.is_absolute()
            else f" (looked in {Path.cwd()}; a campaign started in another folder resumes "
            "from that folder)"
        )
        raise PerturboError(
            f"screen {source!r} is neither a built-in screen ({', '.join(builtin_screens())}) "
            f"nor an existing CSV file{here}; pass one of those names or the path to a "
            "Gene,Score CSV"
        )
    genes, scores, spelling = read_gene_scores(path, allow_duplicates=False)
    task_text, measurement, study, extra = read_task(task, path)
    mod, tail = _modality(task_text, measurement, extra, modality, hit_tail)
    hit_set = (
        read_hits(Path(hits), genes)
        if hits is not None
        else top_fraction(genes, scores, tail, f"screen {path}")
    )
    name = path.stem if path.stem.lower() not in by_lower else f"file:{path.stem}"
    return Screen(
        name, genes, scores, hit_set, task_text, measurement, study or name, mod, tail, spelling
    )


def _modality(
    task: str, measurement: str, extra: dict[str, str], modality: str | None, tail: str | None
) -> tuple[str, str]:
    """(modality, hit tail): explicit settings, else the task json's keys, else the text."""
    text = f"{task} {measurement}".lower()
    mod = modality or extra.get("modality", "").lower() or None
    if mod is None:
        if "crispra" in text or "activation" in text or "overexpress" in text:
            mod = "crispra"
        elif "crispri" in text or "interference" in text:
            mod = "crispri"
        else:
            mod = "knockout"
    tl = tail or extra.get("hittail", "").lower() or None
    if tl is None:
        high = any(w in text for w in ("high score", "enriched", "positive selection"))
        low = any(w in text for w in ("low score", "depleted", "negative selection"))
        tl = "high" if high and not low else "low" if low and not high else "both"
    if mod not in MODALITIES or tl not in HIT_TAILS:
        raise PerturboError(
            f"task json: Modality {mod!r} / HitTail {tl!r}: use one of "
            f"{', '.join(MODALITIES)} / {', '.join(HIT_TAILS)}"
        )
    return mod, tl


def _load_builtin(
    name: str, task: str | None, modality: str | None = None, hit_tail: str | None = None
) -> Screen:
    genes, scores, spelling = read_gene_scores(DATA_DIR / f"{name}.csv", allow_duplicates=True)
    raw = np.load(DATA_DIR / f"{name}_hits.npy", allow_pickle=True)
    hit_set = frozenset(normalize_gene(str(g)) for g in raw.tolist()) & frozenset(genes)
    if task is None:
        task = str(DATA_DIR / f"{name}.task.json")
    task_text, measurement, _, extra = read_task(task, None)
    own, _ = _modality(task_text, measurement, extra, None, None)
    if modality is not None and modality != own:
        raise PerturboError(
            f"--modality {modality}: the built-in screen {name} is a {own} screen (its scores "
            f"were measured so); drop --modality, or pass your own {modality} screen as a CSV"
        )
    mod, tail = _modality(task_text, measurement, extra, modality, hit_tail)
    study = _BUILTIN_STUDY.get(name, name)
    return Screen(name, genes, scores, hit_set, task_text, measurement, study, mod, tail, spelling)


def top_fraction(
    genes: tuple[str, ...], scores: np.ndarray, tail: str = "both", source: str = "screen"
) -> frozenset[str]:
    """The default hit rule: the top :data:`HIT_FRACTION` of ``genes`` (or pairs) by the
    ``tail`` of their scores (``both``: by magnitude), at least one. A :class:`PerturboError`
    naming ``source`` where every gene ties on that key (all scores equal): any top 5% would be
    an arbitrary pick, and the campaign would count arbitrary genes as hits."""
    k = max(1, int(math.ceil(HIT_FRACTION * len(genes))))
    key = {"both": -np.abs(scores), "high": -scores, "low": scores}[tail]
    if len(key) > 1 and float(np.min(key)) == float(np.max(key)):
        by = "|Score|" if tail == "both" else "Score"
        raise PerturboError(
            f"{source}: every row has the same {by} ({float(scores[0]):g}), so the default "
            f"hit rule (top {HIT_FRACTION:.0%} by {by}) would pick {k} arbitrary hits; pass "
            "--hits hits.txt (one hit per line), or a screen whose Score varies"
        )
    order = np.argsort(key, kind="stable")[:k]
    return frozenset(genes[i] for i in order)
