"""The chat's lab tools: the batch a lab campaign waits for, and telling it what the lab measured.

A lab campaign (``perturbo run KIND --lab``) proposes a batch and waits, days or weeks, for
the lab's results. :meth:`LabTools.pending_batch` shows that batch ("what should we test next
in my-screen?"); :meth:`LabTools.tell_results` reads a results file, checks it against the
pending batch and *previews* what would be recorded (the genes, their scores, the hits under
the campaign's rule, what stays pending) as a :class:`~perturbo.agents.chat.actions.PendingAction`:
nothing is recorded until a person confirms (the web page's button, ``y`` in the terminal, an
MCP client's ``confirm_action(token)``); the confirmation records the round exactly once and
answers with the next batch.

The agents sit below the lab loop and the kinds in the layers: they never import them. The
front end hands in a :class:`LabPort` (:mod:`perturbo.chat.lab_port` over :mod:`perturbo.lab`),
as it hands in the kind catalog and the launch-settings check.
"""

from __future__ import annotations

import hashlib
import secrets
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from perturbo.agents.chat.facts import fmt, resolve
from perturbo.agents.chat.result import ToolResult
from perturbo.names import inside
from perturbo.types import PerturboError

__all__ = ["LAB_ACTIONS", "LAB_READS", "LabPort", "LabPreview", "LabTools", "LabView"]

LAB_READS = ("pending_batch",)
LAB_ACTIONS = ("tell_results",)
SHOWN_ROWS = 20
MAX_UPLOAD_BYTES = 20_000_000


@dataclass(frozen=True)
class LabView:
    """A lab campaign's state after a step: the pending batch's sheet (``sheet``: its rows;
    empty once finished), the line that says what waits (``line``), what the step said."""

    campaign: str
    line: str
    round: int | None = None
    sheet: Sequence[Mapping[str, str]] = ()
    lines: Sequence[str] = ()
    waiting: Sequence[str] = ()
    """The pending experiments with no result yet, as text (a gene)."""

    @property
    def finished(self) -> bool:
        return self.round is None


@dataclass(frozen=True)
class LabPreview:
    """What telling a results file would record, nothing recorded yet: one row per experiment
    (``rows``: its parameters and measured metrics, ``hit`` 0/1 by the campaign's rule), those
    of the batch that stay pending, the campaign's hit rule."""

    campaign: str
    round: int
    rows: Sequence[Mapping[str, Any]]
    still_pending: Sequence[str]
    hit_rule: str = ""
    told_before: int = 0
    lines: Sequence[str] = field(default_factory=tuple)


class LabPort(Protocol):
    """What the chat asks of the lab loop (the front end passes :mod:`perturbo.chat.lab_port`'s)."""

    def pending(self, name: str) -> LabView | None:
        """The campaign's pending batch; None when it is not a lab campaign."""
        ...

    def preview(self, name: str, path: str) -> LabPreview:
        """What ``path`` would record (raises PerturboError, one line, on a bad file)."""
        ...

    def tell(self, name: str, path: str, next_batch: int | None) -> LabView:
        """Record ``path`` exactly once and propose the next batch."""
        ...


def _sheet_lines(rows: Sequence[Mapping[str, str]], limit: int = SHOWN_ROWS) -> list[str]:
    ranked = [r for r in rows if r.get("Rank")]
    out = []
    for r in ranked[:limit]:
        p, sd = r.get("P_hit", ""), r.get("P_hit_sd", "")
        pred = f" P(hit) {p}" + (f" ± {sd}" if sd else "") if p else ""
        why = f" ({r['Why']})" if r.get("Why") else ""
        out.append(f"{r.get('Rank', '?'):>3}. {r.get('Gene', '?')}{pred}{why}")
    if len(ranked) > limit:
        out.append(f"  ... {len(ranked) - limit} more (the whole sheet: `perturbo ask`)")
    controls = [r.get("Gene", "") for r in rows if not r.get("Rank")]
    if controls:
        out.append(f"  controls in every batch: {', '.join(controls[:10])}")
    return out


def _label(row: Mapping[str, Any]) -> str:
    return str(row.get("gene") or next(iter(row.values()), "?"))


class LabTools:
    """The lab tools; mixed into :class:`~perturbo.agents.chat.tools.ChatTools` (which gives
    ``store``, ``launcher``, ``lab`` and :meth:`propose_experiments`)."""

    store: Any
    launcher: Any
    lab: LabPort | None
    _told: dict[str, str]
    """Per confirmation token: the previewed file's SHA-256 and the round it tells
    (``"<sha256> <round>"``)."""

    def _lab(self) -> LabPort:
        if self.lab is None:
            raise PerturboError("this chat was started without the lab tools")
        return self.lab

    def lab_confirm(self, action: Any) -> str:
        """Record a confirmed ``tell`` (the launcher's handler for that action kind): the
        file must be what was previewed (its SHA-256), then the lab loop records it once."""
        argv = list(action.argv)
        path = argv[2]
        nxt = int(argv[argv.index("--next-batch") + 1]) if "--next-batch" in argv else None
        want, _, told = (self._told.pop(action.token, None) or "").partition(" ")
        if not want or _digest(Path(path)) != want:
            raise PerturboError(f"{path} changed since it was previewed: ask again")
        view = self._lab().tell(action.campaign, path, nxt)
        said = [line for line in view.lines if line != view.line]  # said again below
        same = told.isdigit() and view.round == int(told)  # part of the round: it still waits
        return "\n".join([*said, *self._next_text(view, same)])

    def _next_text(self, view: LabView, same: bool = False) -> list[str]:
        if view.finished:
            return [f"{view.campaign} finished: nothing waits for results."]
        head = f"Still waiting (the same batch, round {view.round + 1})" if same else "Next batch"
        return [
            f"{head}: {view.line}.",
            *_sheet_lines(view.sheet),
            f"Download it: `perturbo ask {view.campaign} --out batch.csv` (or the page's link).",
        ]

    def stage_results(self, text: str, filename: str = "results.csv") -> Path:
        """Keep uploaded results (CSV text) as a new file in the chat's folder; its path."""
        data = text.encode("utf-8")
        if not data.strip():
            raise PerturboError(f"{filename}: the file is empty; upload a CSV with Gene,Score")
        if len(data) > MAX_UPLOAD_BYTES:
            raise PerturboError(f"{filename}: larger than {MAX_UPLOAD_BYTES // 10**6} MB")
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in Path(filename).stem)[:40]
        folder = Path(self.launcher.workdir) / "uploads"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = inside(folder, f"{secrets.token_hex(4)}-{stem or 'results'}", ".csv")
        with open(path, "xb") as f:  # a new file, never over another upload
            f.write(data)
        uploads = self.__dict__.setdefault("_uploads", {})
        uploads[str(path)] = Path(filename.replace("\\", "/")).name or "results.csv"
        return path

    def _as_uploaded(self, e: PerturboError, path: Path, results: str) -> PerturboError:
        """``e`` (about the staged upload ``path``) in the words of the person who uploaded it:
        the file as they named it, never the chat's copy in its folder; a CLI command names
        their own file (this page records new values only)."""
        uploads: dict[str, str] = self.__dict__.get("_uploads", {})
        shown = uploads.get(str(path)) or uploads.get(results)
        if shown is None:
            return e
        text = str(e)
        for staged in sorted({str(path), results, str(Path(path).resolve())}, key=len)[::-1]:
            text = text.replace(f" {staged} --correct", f" {shlex.quote(shown)} --correct")
            text = text.replace(staged, shown)
        if " --correct" in text:
            text += f"; this page records new values only: run that in a terminal, beside {shown}"
        return PerturboError(text)

    # ------------------------------------------------------------------ the tools
    def pending_batch(self, name: str) -> ToolResult:
        """Show what a lab campaign waits for: the pending batch the lab should test next (rank,
        gene, predicted hit probability, why it was picked); for a campaign whose experiments
        run in perturbo, its planner proposes the next experiments."""
        name = resolve(self.store, name)
        view = self._lab().pending(name)
        if view is None:
            res = self.propose_experiments(name)  # type: ignore[attr-defined]
            text = f"{name} is not a lab campaign (perturbo runs its experiments).\n{res.text}"
            return ToolResult(text, res.data)
        if view.finished:
            return ToolResult(
                f"{name} finished: nothing waits for results.", {"name": name, "finished": True}
            )
        text = "\n".join(
            [f"{name}: {view.line}. Test these next (best first):", *_sheet_lines(view.sheet)]
        )
        data = {
            "name": name,
            "round": view.round + 1 if view.round is not None else None,
            "waiting": list(view.waiting),
            "sheet": [dict(r) for r in view.sheet],
        }
        return ToolResult(text, data)

    def tell_results(
        self, name: str, results: str | None = None, next_batch: int | None = None
    ) -> ToolResult:
        """Record what the lab measured for a lab campaign's pending batch: ``results`` is a
        CSV (Gene,Score; optional Hit, Replicate) in the working folder, or its text; shows what
        would be recorded and records it only after the user confirms, then the next batch."""
        name = resolve(self.store, name)
        if not results:
            raise PerturboError(
                f"which results? Upload the CSV (the page's Upload button) or name the file: "
                f"`/tell {name} results.csv`"
            )
        if next_batch is not None and int(next_batch) <= 0:
            raise PerturboError(f"next_batch={next_batch}: give a positive number")
        if "\n" in results:
            path = self.stage_results(results)
            self.__dict__.get("_uploads", {}).pop(str(path), None)  # pasted text: no file name
        else:
            checked = self.launcher.check_settings({"results": results})["results"]
            path = Path(str(checked))
            if not path.is_file():
                raise PerturboError(f"results file {results!r} not found in the working folder")
        try:
            preview = self._lab().preview(name, str(path))
        except PerturboError as e:
            raise self._as_uploaded(e, path, results) from None
        argv = ["tell", name, str(path)]
        if next_batch is not None:
            argv += ["--next-batch", str(int(next_batch))]
        argv += ["--tracking-uri", self.launcher.tracking_uri]
        n_hits = sum(1 for r in preview.rows if float(r.get("hit", 0) or 0) >= 1)
        what = (
            f"record {len(preview.rows)} results of round {preview.round + 1} of {name} "
            f"({n_hits} hits)"
        )
        action = self.launcher.propose("tell", name, argv, what)
        self._told[action.token] = f"{_digest(path)} {preview.round}"
        text = "\n".join(
            [*_preview_lines(preview, n_hits), f"Nothing is recorded until you confirm "
             f"(confirmation token {action.token})."]
        )  # fmt: skip
        data = {
            "token": action.token,
            "action": "tell",
            "campaign": name,
            "command": action.command(),
            "rows": [dict(r) for r in preview.rows],
            "still_pending": list(preview.still_pending),
            "hits": n_hits,
        }
        return ToolResult(text, data, pending=action)


def _preview_lines(p: LabPreview, n_hits: int) -> list[str]:
    rule = f" (hit rule {p.hit_rule})" if p.hit_rule else ""
    lines = [
        *p.lines,
        f"Round {p.round + 1} of {p.campaign}: {len(p.rows)} results to record{rule}, "
        f"{n_hits} hits; {len(p.still_pending)} of the batch stay pending"
        + (f" ({p.told_before} told before)" if p.told_before else "")
        + ".",
    ]
    hits = [_label(r) for r in p.rows if float(r.get("hit", 0) or 0) >= 1]
    if hits:
        lines.append(f"Hits: {', '.join(hits[:30])}" + (" ..." if len(hits) > 30 else ""))
    for r in p.rows[:SHOWN_ROWS]:
        score = r.get("score")
        lines.append(
            f"  {_label(r)}: score {fmt(score) if score is not None else '?'}"
            + (" HIT" if float(r.get("hit", 0) or 0) >= 1 else "")
        )
    if len(p.rows) > SHOWN_ROWS:
        lines.append(f"  ... {len(p.rows) - SHOWN_ROWS} more")
    if p.still_pending:
        shown = ", ".join(p.still_pending[:15])
        lines.append(
            f"Still pending after this: {shown}" + (" ..." if len(p.still_pending) > 15 else "")
        )
    return lines


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
