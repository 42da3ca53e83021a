"""The LLM reranker of the genetic text prior (``--text-rerank llm``).

MiniLM's set-name similarity (:mod:`perturbo.kinds.genetic.planners.gene_text`) picks the gene sets whose
names read like the screen's task; a name can read alike and be beside the point (another
interferon for an IFN-gamma screen, splicing for a lysosome screen). :class:`LLMSetReranker`
shows the model MiniLM's ``top`` closest sets as a numbered list and asks it to *choose* the
(at most ``PICK``) ids most likely to hold the screen's hits, most relevant first, as JSON
(grammar-constrained to the listed ids on the embedded model; a forced tool call on remote
ones, see :mod:`perturbo.agents.structured`). Choosing ids from a numbered list is what a
small local model does well (the genetic agent works the same way); asked for one 0-10 score
per set instead, the embedded Qwen2.5-Coder-1.5B wrote 0 for all 56 of Scharenberg22's sets
and took ~7 minutes of this CPU for the ~400 answer tokens.

The reranked order: the chosen sets in the model's order, then the others in MiniLM's
(relevance 1 -> 0.5 for the chosen, 0.25 for the rest: nothing is dropped).
The answer is untrusted data: ids not in the list, non-integers, repeats and too many ids go
back to the model as problems for at most ``max_repairs`` turns; what is still wrong is
dropped, and with no valid id left the reranker answers ``None`` (the prior keeps MiniLM's
order, and the campaign logs why); so does a backend that fails (unreachable, timeout), and so
does an answer that carries no information: ids 1, 2, 3, ... of the shuffled list in listed
order (position bias; the embedded Qwen2.5-Coder-1.5B answered so on every shipped task). What
the user can fix (no such local model, no API key) is a
:class:`~perturbo.types.PerturboError` naming the fix, raised only on a cache miss.

Answers are cached on disk per (task text, candidate set names, backend:model, prompt
version) in ``<cache>/rerank/<key>.json`` beside the gene-knowledge caches, so a second
campaign with the same task and libraries does not call the LLM (nor load it: the model is
made only on a cache miss). A valid answer is cached even where it is not used (position
bias: the greedy model would answer the same); backend failures and invalid answers are not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, create_model

from perturbo.agents.llm import LLMSettings
from perturbo.agents.structured import LLMCall, ask_structured
from perturbo.kinds.genetic.genesets import DEFAULT_CACHE
from perturbo.kinds.genetic.planners.gene_text import SetRelevance, set_prose

__all__ = ["PICK", "PROMPT_VERSION", "RERANK_TOP", "LLMSetReranker", "validate_ids"]

log = logging.getLogger(__name__)

RERANK_TOP = 40
"""How many of MiniLM's closest sets the LLM is shown: sized by the prompt, not by a screen
(40 names ~ 500 prompt tokens, the slow part of the embedded model on a CPU); never more than
the text prior's own top 1%."""
PICK = 12
"""At most this many ids chosen (~4 answer tokens each)."""
PROMPT_VERSION = 4
"""Part of the cache key: bump when the prompt or the schema changes."""
_MODALITY = {"knockout": "knocking out", "crispri": "repressing", "crispra": "activating"}

SYSTEM = (
    "You are a biologist planning a pooled CRISPR {modality} screen. {task} A gene is a hit "
    "when {verb} it changes the measurement strongly. Reply with JSON only."
)


class LLMSetReranker:
    """Scores gene-set names for relevance to a task with an LLM (the
    :class:`~perturbo.kinds.genetic.planners.gene_text.SetReranker` protocol). ``settings``: the campaign's
    LLM backend (``local`` = the embedded model by default); ``llm``: a ready chat model
    (tests); ``engine``: a shared local model (ModelHost client). ``cache_dir=None``: no cache.
    ``shuffle``: list the sets in a seeded order of their own (from the task and the names), not
    MiniLM's: the embedded Qwen chose ids 1-12 in listed order on all four shipped tasks.
    ``calls`` keeps each LLM call's trace."""

    def __init__(
        self,
        settings: LLMSettings | None = None,
        *,
        llm: Any = None,
        engine: Any = None,
        cache_dir: Path | None = DEFAULT_CACHE,
        top: int = RERANK_TOP,
        max_repairs: int = 1,
        modality: str = "knockout",
        shuffle: bool = True,
    ) -> None:
        self.settings = settings or LLMSettings()
        self.top = top
        self.max_repairs = max_repairs
        self.shuffle = shuffle
        self.modality = modality if modality in _MODALITY else "knockout"
        self.cache_dir = cache_dir
        self._llm = llm
        self._engine = engine
        self.calls: list[LLMCall] = []

    @property
    def model(self) -> str:
        """``backend:model`` (part of the cache key and of what the campaign logs)."""
        s = self.settings
        name = getattr(self._llm, "model_name", None) if self._llm is not None else None
        return f"{s.backend}:{name or s.model_name}"

    def __call__(self, task: str, names: Sequence[str]) -> SetRelevance:
        names = list(names)
        if not names:
            return SetRelevance(None, self.model, "fallback: no candidate sets")
        key = _key(PROMPT_VERSION, task, self.modality, names, self.model)
        cached = _load(self.cache_dir, key)
        if cached is not None:
            scores, why = cached
            status = "cached" if scores is not None else f"cached fallback: {why}"
            return SetRelevance(scores, self.model, status[:300])
        llm = self._chat_model(len(names))  # a missing model or key: PerturboError, its fix
        scores, why, answered = self._ask(llm, task, names)
        if answered:  # a valid answer (even one without information) is the model's verdict
            entry = {"task": task, "model": self.model, "names": names, "scores": scores}
            _save(self.cache_dir, key, {**entry, "why": why})
        if scores is None:
            log.warning("text-prior rerank: %s; MiniLM's order is kept", why)
            return SetRelevance(None, self.model, f"fallback: {why}"[:300])
        return SetRelevance(scores, self.model, "llm")

    def _chat_model(self, n: int) -> Any:
        if self._llm is None:
            from perturbo.agents.llm import make_chat_model

            need = 6 * PICK + 48  # '12, ' is ~3 tokens; room for whitespace
            s = dataclasses.replace(  # greedy and seed 0: one answer per task, whatever the
                self.settings,  # campaign's seed (the cache key has no seed)
                max_tokens=max(self.settings.max_tokens, need),
                temperature=0.0,
                seed=0,
            )
            self._llm = make_chat_model(s, engine=self._engine)
        return self._llm

    def _ask(
        self, llm: Any, task: str, candidates: list[str]
    ) -> tuple[dict[str, float] | None, str, bool]:
        """(relevance per set or None, why not, whether the model gave a valid answer)."""
        names = list(candidates)
        if self.shuffle:  # listed in an order of their own: a small model's position bias
            random.Random(_key("order", task, names)).shuffle(names)  # is not MiniLM's order
        listing = "\n".join(f"{i}: {_label(n)}" for i, n in enumerate(names, 1))
        m = min(PICK, len(names))
        user = (
            f"Gene sets (id: name [library]):\n{listing}\n\n"
            f"Choose the 1 to {m} ids of the sets whose genes most likely include hits of this "
            "screen, most relevant first. "
            'JSON: {"ids": [<id>, ...]}'
        )
        system = SYSTEM.format(
            modality=self.modality, task=_sentence(task), verb=_MODALITY[self.modality]
        )
        answer, call = ask_structured(
            llm,
            system,
            user,
            _schema(len(names), m),
            lambda a: validate_ids(a.ids, len(names), m)[1],  # type: ignore[attr-defined]
            name="text.rerank",
            max_repairs=self.max_repairs,
            method=self.settings.structured_method,
        )
        self.calls.append(call)
        if answer is None:
            return None, call.failure or _first(call.errors) or "no parseable answer", False
        chosen, problems = validate_ids(answer.ids, len(names), m)  # type: ignore[attr-defined]
        if not chosen:
            return None, f"no valid id chosen ({_first([problems])})", False
        if self.shuffle and len(chosen) >= 3 and chosen == list(range(1, len(chosen) + 1)):
            why = (  # 1, 2, 3, ... of a shuffled list: position, not relevance (p < 1e-4)
                f"the model chose ids 1-{len(chosen)} in listed order (position bias: no "
                "information about relevance)"
            )
            return None, why, True
        rank = {i: r for r, i in enumerate(chosen)}
        scores = {
            n: (1.0 - 0.5 * rank[i] / m if i in rank else 0.25) for i, n in enumerate(names, 1)
        }
        return scores, "", True


def validate_ids(raw: Any, n: int, m: int) -> tuple[list[int], list[str]]:
    """The valid part of an answer's ``ids`` (distinct ids 1..n, in the model's order, at most
    ``m``) and its problems, phrased for a repair turn. Anything may come in: it is the
    model's output."""
    if not isinstance(raw, list | tuple):
        return [], [f"'ids' must be a list of 1 to {m} ids from the list (1..{n})"]
    chosen: list[int] = []
    problems: list[str] = []
    for v in raw:
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            problems.append(f"{str(v)[:20]!r} is not an id (use 1..{n})")
            continue
        try:
            i = int(v) if isinstance(v, float) and v.is_integer() else int(str(v).strip())
        except ValueError:
            problems.append(f"{str(v)[:40]!r} is not an id from the list (use 1..{n})")
            continue
        if not 1 <= i <= n:
            problems.append(f"id {i} is not in the list (1..{n})")
        elif i in chosen:
            problems.append(f"id {i} is repeated")
        elif len(chosen) >= m:
            problems.append(f"more than {m} ids: keep the {m} most relevant")
            break
        else:
            chosen.append(i)
    if not raw:
        problems.append(f"choose at least one id (1..{n})")
    return chosen, problems


def _schema(n: int, m: int) -> type[BaseModel]:
    """``{"ids": [<1..n>, ...]}`` with 1..m items; the ids an enum, so the embedded model's
    grammar can only write listed ids. Pydantic itself accepts any list:
    :func:`validate_ids` judges the values."""
    return create_model(
        "SetChoice",
        ids=(
            list[Any],
            Field(
                json_schema_extra={
                    "items": {"type": "integer", "enum": list(range(1, n + 1))},
                    "minItems": 1,
                    "maxItems": m,
                }
            ),
        ),
    )


def _label(set_name: str) -> str:
    """``"GO_Biological_Process_2023: Lysosome Organization (GO:0007040)"`` ->
    ``"lysosome organization [GO]"``: the name as prose and a short library tag."""
    lib = set_name.split(": ", 1)[0] if ": " in set_name else ""
    short = lib.split("_")[0] if lib else ""
    text = set_prose(set_name)
    return f"{text} [{short}]" if short else text


def _sentence(text: str) -> str:
    t = " ".join(str(text).split())
    return t if t.endswith(".") else t + "."


def _first(errors: Sequence[Sequence[str]]) -> str:
    last = errors[-1] if errors else ()
    return "; ".join(list(last)[:3])


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:24]


def _path(cache_dir: Path | None, key: str) -> Path | None:
    return None if cache_dir is None else Path(cache_dir) / "rerank" / f"{key}.json"


def _load(cache_dir: Path | None, key: str) -> tuple[dict[str, float] | None, str] | None:
    """``(scores or None, why)`` of a cached answer; ``None``: not cached (or damaged)."""
    path = _path(cache_dir, key)
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        raw = data["scores"]
        scores = None if raw is None else {str(k): float(v) for k, v in raw.items()}
        return scores, str(data.get("why", ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # a damaged cache entry is a miss


def _save(cache_dir: Path | None, key: str, data: Mapping[str, Any]) -> None:
    path = _path(cache_dir, key)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")  # atomic, per process
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
