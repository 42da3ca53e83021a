"""CRISPR screens: the :class:`Screen` data and how it is loaded (built-in or a user's CSV).

A screen is a table ``Gene,Score`` (one row per knocked-out gene, the measured phenotype),
the set of *hit* genes, and a task description (what is measured, what a hit means).

Rules, in one place:

- **Gene symbols** are normalised by stripping whitespace and upper-casing (``" ifng"`` ->
  ``"IFNG"``), in the CSV, the hits file and every proposal.
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

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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
HIT_FRACTION = 0.05
"""Default hit rule for a user's screen without a hits file: the top 5% by |score|."""

_BUILTIN_STUDY = {"IFNG": "Schmidt22", "IL2": "Schmidt22"}
MODALITIES = ("knockout", "crispri", "crispra")
HIT_TAILS = ("both", "high", "low")


def normalize_gene(symbol: str) -> str:
    """The canonical form of a gene symbol: whitespace stripped, upper case."""
    return symbol.strip().upper()


class _Genes:
    """Shared look-ups over ``genes`` (a canonical, unique tuple) and the task text."""

    genes: tuple[str, ...]
    task: str
    measurement: str
    _index: dict[str, int]

    def index(self, gene: str) -> int:
        """Position of ``gene`` (normalised) in :attr:`genes`; ``KeyError`` if absent."""
        return self._index[normalize_gene(gene)]

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
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {g: i for i, g in enumerate(self.genes)})


@dataclass(frozen=True, eq=False)
class Screen(_Genes):
    """One screen. ``genes`` are canonical (upper case) and unique; ``scores[i]`` belongs to
    ``genes[i]``; ``hits`` is a subset of ``genes``. Held by the executor and the metrics;
    planners get :meth:`view`."""

    name: str
    genes: tuple[str, ...]
    scores: np.ndarray
    hits: frozenset[str]
    task: str
    measurement: str
    study: str
    modality: str = "knockout"
    hit_tail: str = "both"
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
        raise PerturboError(
            f"screen {source!r} is neither a built-in screen ({', '.join(builtin_screens())}) "
            "nor an existing CSV file; pass one of those names or the path to a Gene,Score CSV"
        )
    genes, scores = _read_csv(path, allow_duplicates=False)
    task_text, measurement, study, extra = _read_task(task, path)
    mod, tail = _modality(task_text, measurement, extra, modality, hit_tail)
    hit_set = (
        _read_hits(Path(hits), genes)
        if hits is not None
        else top_fraction(genes, scores, tail, f"screen {path}")
    )
    name = path.stem if path.stem.lower() not in by_lower else f"file:{path.stem}"
    return Screen(name, genes, scores, hit_set, task_text, measurement, study or name, mod, tail)


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
    genes, scores = _read_csv(DATA_DIR / f"{name}.csv", allow_duplicates=True)
    raw = np.load(DATA_DIR / f"{name}_hits.npy", allow_pickle=True)
    hit_set = frozenset(normalize_gene(str(g)) for g in raw.tolist()) & frozenset(genes)
    if task is None:
        task = str(DATA_DIR / f"{name}.task.json")
    task_text, measurement, _, extra = _read_task(task, None)
    own, _ = _modality(task_text, measurement, extra, None, None)
    if modality is not None and modality != own:
        raise PerturboError(
            f"--modality {modality}: the built-in screen {name} is a {own} screen (its scores "
            f"were measured so); drop --modality, or pass your own {modality} screen as a CSV"
        )
    mod, tail = _modality(task_text, measurement, extra, modality, hit_tail)
    study = _BUILTIN_STUDY.get(name, name)
    return Screen(name, genes, scores, hit_set, task_text, measurement, study, mod, tail)


def csv_table(
    path: Path, what: str, columns: tuple[str, ...], fix: str
) -> tuple[list[list[str]], tuple[int, ...]]:
    """The non-empty rows of a CSV screen and the positions of ``columns`` (matched ignoring
    case) in its header; a :class:`PerturboError` naming ``what`` and ``fix`` if the file
    cannot be read, is empty, lacks a column, or has no data rows. Used for gene and pair
    screens alike."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError as e:
        raise PerturboError(_not_utf8(path, what, e)) from None
    except (OSError, csv.Error) as e:
        raise PerturboError(f"{what} {path}: cannot be read as CSV ({e}); {fix}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise PerturboError(f"{what} {path}: the file is empty; {fix}")
    header = [c.strip().lower() for c in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        names = " or ".join(m.capitalize() for m in missing)
        raise PerturboError(  # the header is not echoed: it may be any file's first line
            f"{what} {path}: no {names} column in its first row ({len(rows[0])} fields); {fix}"
        )
    if len(rows) == 1:
        raise PerturboError(f"{what} {path}: the header has no data rows below it; {fix}")
    return rows, tuple(header.index(c) for c in columns)


def _not_utf8(path: Path, what: str, e: UnicodeDecodeError) -> str:
    """The line, and the fix, for a file that is not UTF-8 text (latin-1 from Excel, binary)."""
    try:  # the decoder's error is relative to a chunk: find the place in the whole file
        data = path.read_bytes()
        data.decode("utf-8-sig")
    except UnicodeDecodeError as whole:
        e = whole
    except OSError:
        data = b""
    start = e.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
    line = data[:start].count(b"\n") + 1
    byte = data[start : start + 1].hex() or "?"
    if b"\x00" in data[:4096]:
        return (
            f"{what} {path}: is not a text file (binary data near line {line}); pass a "
            "CSV saved as UTF-8 text"
        )
    return (
        f"{what} {path}: line {line} is not UTF-8 text (byte 0x{byte}, e.g. latin-1 from "
        f"Excel); save the file as 'CSV UTF-8', or convert it: iconv -f latin1 -t utf-8 "
        f"{path} > {path.with_suffix('')}-utf8.csv"
    )


def _read_csv(path: Path, allow_duplicates: bool) -> tuple[tuple[str, ...], np.ndarray]:
    fix = "it must be a CSV with a header row containing Gene and Score, one gene per row"
    rows, (gi, si) = csv_table(path, "screen", ("gene", "score"), fix)
    best: dict[str, float] = {}
    dupes: list[str] = []
    bad_nan: list[str] = []
    for lineno, r in enumerate(rows[1:], start=2):
        if len(r) <= max(gi, si):
            raise PerturboError(f"screen {path}: line {lineno} has {len(r)} fields, too few; {fix}")
        gene = normalize_gene(r[gi])
        if not gene:
            raise PerturboError(
                f"screen {path}: line {lineno} has an empty Gene; fill or delete it"
            )
        try:
            score = float(r[si])
        except ValueError:
            raise PerturboError(
                f"screen {path}: line {lineno} ({gene}) has Score {r[si]!r}, not a number; "
                "fix or delete that row"
            ) from None
        if not math.isfinite(score):
            bad_nan.append(gene)
            continue
        if gene in best:
            dupes.append(gene)
            if abs(score) > abs(best[gene]):
                best[gene] = score
            continue
        best[gene] = score
    if bad_nan:
        raise PerturboError(
            f"screen {path}: {len(bad_nan)} gene(s) have a NaN or infinite Score "
            f"({', '.join(bad_nan[:5])}{', ...' if len(bad_nan) > 5 else ''}); "
            "give them a number or delete those rows"
        )
    if dupes and not allow_duplicates:
        shown = sorted(set(dupes))
        raise PerturboError(
            f"screen {path}: {len(shown)} gene(s) appear on more than one row "
            f"({', '.join(shown[:5])}{', ...' if len(shown) > 5 else ''}; symbols compared "
            "ignoring case and spaces); keep one row per gene (e.g. average the replicates)"
        )
    return tuple(best), np.fromiter(best.values(), float, len(best))


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


def _read_hits(path: Path, genes: tuple[str, ...]) -> frozenset[str]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise PerturboError(
            f"--hits {path}: cannot be read ({e}); pass a text file with one hit gene per line"
        ) from None
    named = [normalize_gene(ln.split("#", 1)[0]) for ln in lines]
    named = [g for g in named if g]
    if not named:
        raise PerturboError(
            f"--hits {path}: no gene names in it; write one hit gene per line, or drop --hits "
            f"to use the top {HIT_FRACTION:.0%} of genes by |score|"
        )
    known = set(genes)
    unknown = [g for g in dict.fromkeys(named) if g not in known]
    if unknown:
        raise PerturboError(
            f"--hits {path}: {len(unknown)} gene(s) are not in the screen "
            f"({', '.join(unknown[:5])}{', ...' if len(unknown) > 5 else ''}); "
            "remove them or add them to the screen CSV"
        )
    return frozenset(named)


def _read_task(task: str | None, csv_path: Path | None) -> tuple[str, str, str, dict[str, str]]:
    """(task, measurement, study or "", other keys lower-cased) from a task.json path, a plain
    sentence, or defaults."""
    if task is None and csv_path is not None:
        beside = csv_path.with_name(csv_path.stem + ".task.json")
        task = str(beside) if beside.is_file() else None
    if task is None:
        return (
            "identify genes whose knockout changes the phenotype measured by this screen",
            "the screen's Score column (a hit is a gene whose perturbation changes it strongly)",
            "",
            {},
        )
    path = Path(task)
    if not path.is_file():
        if task.lower().endswith(".json"):
            raise PerturboError(
                f"--task {task}: no such file; pass an existing task.json "
                '({"Task": "...", "Measurement": "..."}) or the task sentence itself'
            )
        return task.strip(), "the screen's Score column", "", {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PerturboError(
            f"--task {task}: not valid JSON ({e}); write "
            '{"Task": "what the screen looks for", "Measurement": "what Score measures"}'
        ) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("Task"), str)
        or not data["Task"].strip()
    ):
        raise PerturboError(
            f'--task {task}: needs a non-empty string "Task" (and optionally "Measurement", '
            '"Study"), e.g. {"Task": "identify genes that regulate IL-2", "Measurement": "..."}'
        )
    measurement = data.get("Measurement") or "the screen's Score column"
    extra = {str(k).lower(): str(v) for k, v in data.items() if isinstance(v, str)}
    return (
        data["Task"].strip(),
        str(measurement).strip(),
        str(data.get("Study") or "").strip(),
        extra,
    )
