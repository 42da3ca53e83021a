"""What a lab step leaves on the store beside the rounds themselves, through the kind's lab
hooks (each optional; a kind without one gets nothing):

- ``outlook(planner, history)``: where the campaign stands after the rounds told (lines to say,
  metrics logged on the parent run at the round just told);
- ``plots(PlotData)``: figures drawn after each recorded round, logged under ``plots/`` on the
  parent run (a genetic campaign's ``hit_ratio.png``);
- ``hit_call(config, path, pending, history)`` and ``hit_call_round(parts)``: what the call of
  each results file told stood on (a part kept on the parent run at each ``tell``,
  ``lab/hit-call-rNNN-pKK.csv``), and the round's record made from its parts, logged on the
  round's nested run when the round is recorded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perturbo.lab.pending import Pending
from perturbo.types import Observation

__all__ = ["draw", "keep_hit_call", "log_hit_call", "outlook"]

PART_DIR = "lab"


def outlook(lab: Any, parts: Any, steps: Any, recorder: Any, lines: list[str]) -> None:
    """Where the screen stands (what a lab stops on): said (appended to ``lines``), and logged
    on the parent run at the round after the one just told (``steps.next_round``)."""
    hook = getattr(lab, "outlook", None)
    if hook is None:
        return
    said, metrics = hook(parts.planner, steps.history)
    lines.extend(said)
    for key, value in metrics.items():
        recorder.client.log_metric(recorder.run_id, key, value, step=steps.next_round)


def draw(lab: Any, parts: Any, steps: Any, recorder: Any) -> list[str]:
    """The kind's plots of the campaign so far (its metrics per round as the store holds
    them, the outlook's included), logged under ``plots/`` on the parent run; the files."""
    hook = getattr(lab, "plots", None)
    if hook is None or not len(steps.history):
        return []
    from perturbo.plots import PlotData
    from perturbo.tracking.artifacts import log_plots
    from perturbo.tracking.reader import load_series

    series = load_series(recorder.client, recorder.run_id, _base(recorder))
    data = PlotData(
        recorder.campaign,
        list(steps.history),
        series,
        parts.objective,
        parts.direction,
        params=dict(parts.params),
    )
    return log_plots(recorder.client, recorder.run_id, data, [hook])


def _base(recorder: Any) -> int:
    """What the store numbers the loop's round 0 (1 for campaigns recorded now)."""
    from perturbo.tracking.layout import round_base

    return round_base(recorder.client.get_run(recorder.run_id).data.tags)


def _part_name(round_no: int, k: int) -> str:
    return f"{PART_DIR}/hit-call-r{round_no + 1:03d}-p{k:02d}.csv"


def _parts(client: Any, run_id: str, round_no: int) -> list[str]:
    """The paths of round ``round_no``'s hit-call parts on the parent run, in the order kept."""
    prefix = f"{PART_DIR}/hit-call-r{round_no + 1:03d}-p"
    listed = client.list_artifacts(run_id, PART_DIR)
    return sorted(f.path for f in listed if f.path.startswith(prefix))


def keep_hit_call(
    lab: Any,
    client: Any,
    run_id: str,
    config: Mapping[str, Any],
    path: str,
    pending: Pending,
    history: Sequence[Observation],
) -> str | None:
    """Keep what the hit call of the results file ``path`` (told for ``pending``) stood on,
    as the next part of its round on the parent run; the part's path (``None``: the kind's
    rule keeps nothing)."""
    hook = getattr(lab, "hit_call", None)
    if hook is None:
        return None
    text = hook(config, path, pending.specs, history)
    if not text:
        return None
    name = _part_name(pending.round, len(_parts(client, run_id, pending.round)) + 1)
    client.log_text(run_id, text, name)
    return name


def log_hit_call(lab: Any, recorder: Any, round_no: int) -> list[str]:
    """Round ``round_no``'s hit call (``hit_call_round`` of its parts) on the round's nested
    run (on the parent run where the round has none, e.g. written later from the spool); the
    files logged."""
    hook = getattr(lab, "hit_call_round", None)
    if hook is None:
        return []
    client, parent = recorder.client, recorder.run_id
    with tempfile.TemporaryDirectory(prefix="perturbo-lab-") as tmp:
        texts = [
            Path(client.download_artifacts(parent, p, tmp)).read_text(encoding="utf-8")
            for p in _parts(client, parent, round_no)
        ]
    if not texts:
        return []
    files = hook(texts)
    target, where = _round_run(recorder, round_no), ""
    if target is None:
        target, where = parent, f"{PART_DIR}/round-{round_no + 1:03d}-"
    for name, text in files.items():
        client.log_text(target, text, where + name)
    return list(files)


def _round_run(recorder: Any, round_no: int) -> str | None:
    """The run id of round ``round_no``'s nested run, if it has one."""
    from perturbo.tracking.layout import ROUND_TAG
    from perturbo.tracking.reader import nested_runs

    stored = str(round_no + _base(recorder))
    runs = nested_runs(recorder.client, recorder.experiment_id, recorder.run_id, "round")
    return next((r.info.run_id for r in runs if r.data.tags.get(ROUND_TAG) == stored), None)
