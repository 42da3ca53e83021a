"""Where things are in a campaign's MLflow records: the names both the writer and the reader
use. Changing one breaks reading every campaign recorded before: keep them as they are.

One MLflow experiment per campaign (the campaign's name)::

    experiment <campaign>                       tags perturbo.kind, perturbo.<CampaignParts.tags>
      run <campaign>  (parent, perturbo.role=campaign, perturbo.round_base=1)
          params   planner, seed, batch, rounds ...          (CampaignParts.params)
          metrics  every round metric with step=round; final_* at the end (step 0)
          artifacts campaign/config.json   the full config: `perturbo resume` rebuilds from it
                    rounds/round-NNN.json  the round's observations, exactly (History JSON);
                                           written last, so a round is recorded iff it is here
                    plots/*.png            at the end
                    agent_traces/round-NNN.json, rationale/round-NNN.txt   (nesting "trial")
                    pareto_front.json/.csv  several objectives: the Pareto set
                    hits.csv (the kind's Findings.file)  what was found: subject, round (1..N,
                                           as `perturbo show --hits`), score; rewritten with
                                           each round and at the end
        run round-NNN   (nested, perturbo.role=round; nesting "round" or "both")
              metrics of the round (step=round), results.csv/.json, rationale.txt, agent_trace.json
        run trial-<id>  (nested, perturbo.role=trial; nesting "trial" or "both")
              params = the experiment's params, metrics, per-step values (step=step), duration

Rounds are numbered 1..N in the store (run names, ``perturbo.round`` tags, metric steps,
round files, the ``round`` of every stored observation and of ``results.csv``), as people
count them; the loop counts from 0. A campaign's parent run says which numbering it was
recorded with (:data:`ROUND_BASE_TAG`): stored round = the loop's round + base. Campaigns
recorded before the tag existed numbered from 0 (base 0) and keep that numbering when resumed;
the reader hands every round back in the loop's numbering.

At the end (and on abort) the recorder writes ``mlflow.note.content`` on the experiment (a
description) and the parent run (a markdown summary: best result, planners, links), the
parent's ``perturbo.best.*`` tags, and ``perturbo.best=true`` on the best nested run (whose
name gets `` (best)``). The experiment carries ``mlflow.experimentKind`` so MLflow 3 opens it
in the runs view.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

ROLE = "perturbo.role"
"""Run tag: ``campaign`` (the parent), ``round`` or ``trial`` (nested)."""
KIND_TAG = "perturbo.kind"
ROUND_TAG = "perturbo.round"
NESTING_TAG = "perturbo.nesting"
TAG_PREFIX = "perturbo."
RESUMED_PREFIX = "perturbo.resumed."
"""Parent-run tags of params a resume changed (MLflow params cannot change)."""
CONFIG_FILE = "campaign/config.json"
ROUNDS_DIR = "rounds"
PARETO_FILE = "pareto_front.json"
"""Multi-objective campaigns: the Pareto set, on the parent run (and ``pareto_front.csv``)."""
AGENT_TRACES_DIR = "agent_traces"
"""Per-round agent traces on the parent run (nesting "trial"; else in each round run)."""
AGENT_TRACE_FILE = "agent_trace.json"
"""An agent round's trace inside its nested round run."""
FINAL_PREFIX = "final_"
NOTE_TAG = "mlflow.note.content"
"""MLflow's description of an experiment or run (markdown): the campaign's summary."""
VIEW_TAG = "mlflow.experimentKind"
VIEW_VALUE = "custom_model_development"
"""An experiment kind of MLflow 3's UI: the classic runs view, not the GenAI traces view."""
ROUND_BASE_TAG = "perturbo.round_base"
"""Parent-run tag: the stored number of a campaign's first round ("1"); absent on campaigns
recorded when the store numbered rounds from 0."""
ROUND_BASE = 1
"""What new campaigns record their first round as."""
HEADLINE_TAG = "perturbo.headline"
"""Parent-run tag, written with the summary: what the campaign found, in one line ("12 of 45
hits found (27%) in 256 experiments"; a kind without findings: its headline metrics)."""
BEST_TAG = "perturbo.best"
"""``true`` on the best nested run (trial, or round by the kind's headline metric)."""


def round_file(round: int) -> str:
    """``round-NNN.json``: a round's observations under :data:`ROUNDS_DIR`."""
    return f"round-{round:03d}.json"


def round_base(tags: Mapping[str, str]) -> int:
    """The round numbering a campaign's parent run was recorded with (its tags): 1, or 0 for a
    store written before :data:`ROUND_BASE_TAG` existed."""
    value = str(tags.get(ROUND_BASE_TAG, "0"))
    return int(value) if value.isdigit() else 0


def round_of(name: str) -> int | None:
    """The round of a ``round-NNN.json`` (or ``.txt``) file name, else ``None``."""
    stem, dot, _ = name.rpartition(".")
    if not dot or not stem.startswith("round-"):
        return None
    digits = stem[len("round-") :]
    return int(digits) if digits.isdigit() else None


def tag_key(key: str) -> str:
    """``subject`` -> ``perturbo.subject`` (a key already prefixed is kept)."""
    return key if key.startswith(TAG_PREFIX) else TAG_PREFIX + key


def jsonable(x: Any) -> Any:
    """``x`` as plain JSON values (anything else as its ``str``)."""
    return json.loads(json.dumps(x, default=str))
