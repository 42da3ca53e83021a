"""The genetic kind's lab mode: a campaign whose experiments run in a lab, outside perturbo.

``build_lab(cfg, context)`` assembles the parts from a library with no measurements (the genes
a campaign may propose, minus ``--exclude``), the declared ``--hit-rule`` and the task; the
planner is the one a simulated campaign on the same genes and task would get, so proposals
match it. Its executor refuses to run anything: the lab runs the batch and ``perturbo tell``
brings the results. :data:`LAB` is what :mod:`perturbo.lab` asks of the kind (its
``KindSpec.extras["lab"]``): how to read a results file against the pending batch, and the
batch sheet's rows.

The library, ``--exclude`` and ``--controls`` files and the task are read once, at start: their
content is kept with the campaign (:class:`perturbo.lab.frozen.Inputs`, handed in as the build
context's ``store.lab_inputs`` and as ``inputs`` to the hooks) and every later step reads the
kept copy, so moving or editing a file between rounds changes nothing. A campaign started
before this kept nothing and reads the paths.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from perturbo.kinds.genetic.lab.errors import LabInputError
from perturbo.types import ExperimentSpec, Observation, Outcome, PerturboError, Status

if TYPE_CHECKING:
    from perturbo.kinds.genetic.lab.library import Library
    from perturbo.kinds.genetic.screens import Screen
    from perturbo.kinds.genetic.settings import GeneticConfig
    from perturbo.kindspec import BuildContext
    from perturbo.lab.frozen import Inputs
    from perturbo.parts import CampaignParts

__all__ = ["LAB", "GeneticLab", "LabMetrics", "OutsideExecutor", "build_lab", "lab_screen"]


class OutsideExecutor:
    """A lab campaign's executor: nothing runs in perturbo (``perturbo tell`` records results)."""

    def run(self, spec: ExperimentSpec) -> Outcome:
        return Outcome(
            Status.FAILED,
            {},
            error="a lab campaign's experiments run in the lab: `perturbo tell` records them",
        )


class LabMetrics:
    """Per-round metrics of a lab campaign: hits of the round and so far, genes tested (the
    screen's total number of hits is unknown, so no hit ratio)."""

    def __call__(
        self, round_obs: Sequence[Observation], history: Sequence[Observation]
    ) -> dict[str, float]:
        from perturbo.kinds.genetic.experiment import tested_labels

        this_round, so_far = tested_labels(round_obs), tested_labels(history)
        hits_round = sum(this_round.values())
        return {
            "hits_round": float(hits_round),
            "precision_round": hits_round / len(this_round) if this_round else 0.0,
            "hits_total": float(sum(so_far.values())),
            "n_tested": float(len(so_far)),
        }


def _rule(cfg: GeneticConfig) -> Any:
    from perturbo.kinds.genetic.lab.hit_rules import parse_hit_rule

    if not cfg.hit_rule:
        raise LabInputError(
            "a lab campaign needs --hit-rule (what counts as a hit in your results): column, "
            '"score>=T", "score<=T", "abs>=T" or "z>=T" with --controls'
        )
    rule = parse_hit_rule(cfg.hit_rule)
    if rule.needs_controls and not cfg.controls:
        raise LabInputError(
            f'--hit-rule "{cfg.hit_rule}" (read as: {rule.describe()}) scores genes against '
            "the controls: pass --controls "
            "(a file of the control guides' names, one per line, measured in every batch), "
            'or use a rule without them ("score>=T", "score<=T", "abs>=T" or column)'
        )
    return rule


def _library(path: str, inputs: Inputs | None) -> Library:
    """The library at ``path``: its kept copy where the campaign keeps inputs."""
    from perturbo.kinds.genetic.lab.library import LIBRARY_FIX, load_library, read_text

    if inputs is None:
        return load_library(path)
    return load_library(
        path, inputs.read("library", lambda: read_text(path, "--library", LIBRARY_FIX))
    )


def _gene_list(path: str, what: str, inputs: Inputs | None) -> tuple[str, ...]:
    """The genes of an ``--exclude`` / ``--controls`` file (``what``): its kept copy where the
    campaign keeps inputs."""
    from perturbo.kinds.genetic.lab.library import EXCLUDE_FIX, load_gene_list, read_text

    if inputs is None:
        return load_gene_list(path, what)
    text = inputs.read(what.lstrip("-"), lambda: read_text(path, what, EXCLUDE_FIX))
    return load_gene_list(path, what, text)


def _warn_not_in_library(listed: Sequence[str], genes: Sequence[str], what: str) -> None:
    """A warning naming the genes of ``what``'s list that the library does not hold: dropped
    without a word, a typo (TP35 for TP53) left the gene it meant in the campaign."""
    import warnings

    from perturbo.kinds.genetic.screens import normalize_gene

    known = set(genes)
    missing = [g for g in listed if normalize_gene(g) not in known]
    if missing:
        shown = ", ".join(missing[:8]) + (", ..." if len(missing) > 8 else "")
        warnings.warn(
            f"{what}: {len(missing)} of its {len(listed)} genes are not in the library "
            f"({shown}), so nothing is excluded for them; check their spelling",
            UserWarning,
            stacklevel=2,
        )


def _task(cfg: GeneticConfig, library: Path, inputs: Inputs | None) -> tuple[str, str, str, dict]:
    """The task (text, measurement, study, other keys) as read at start where kept: a task.json
    (``--task`` or beside the library) is read once too."""
    from perturbo.kinds.genetic.screen_files import read_task

    if inputs is None:
        return read_task(cfg.task, library)
    text = inputs.read("task", lambda: json.dumps(list(read_task(cfg.task, library))))
    task, measurement, study, extra = json.loads(text)
    return str(task), str(measurement), str(study), dict(extra)


def lab_screen(cfg: GeneticConfig, inputs: Inputs | None = None) -> Screen:
    """The library as a screen with no measurements (scores NaN, no hits): its genes in library
    order minus ``--exclude`` and ``--controls``, the task, study, modality and hit tail.
    ``inputs``: the campaign's kept input files (``None``: read the paths)."""
    from perturbo.kinds.genetic.screens import Screen, _modality, normalize_gene

    if not cfg.library:
        raise LabInputError("a lab campaign needs --library (a CSV with a Gene column)")
    rule = _rule(cfg)
    lib = _library(cfg.library, inputs)
    listed = _gene_list(cfg.exclude, "--exclude", inputs) if cfg.exclude else ()
    _warn_not_in_library(listed, lib.genes, "--exclude")
    if cfg.controls:
        listed += _gene_list(cfg.controls, "--controls", inputs)
    drop = {normalize_gene(g) for g in listed}  # the lists' genes in any case
    genes = tuple(g for g in lib.genes if g not in drop)
    if not genes:
        raise LabInputError(f"--library {cfg.library}: every gene is excluded; nothing to propose")
    path = Path(cfg.library)
    task_text, measurement, study, extra = _task(cfg, path, inputs)
    tail = cfg.hit_tail or (rule.hit_tail if rule.kind != "column" else None)
    mod, tail = _modality(task_text, measurement, extra, cfg.modality, tail)
    name = path.stem
    nan = np.full(len(genes), math.nan)
    return Screen(
        name, genes, nan, frozenset(), task_text, measurement, study or name, mod, tail,
        lib.spelling,
    )  # fmt: skip


def build_lab(cfg: GeneticConfig, context: BuildContext) -> CampaignParts:
    """The parts of a lab campaign (see the module's docstring)."""
    from perturbo.campaign import StopRule
    from perturbo.kinds.genetic.compose import (
        KIND_NAME,
        earlier_labels,
        make_planner,
        screen_params,
    )
    from perturbo.kinds.genetic.experiment import GenePool
    from perturbo.parts import CampaignParts

    if cfg.planner not in ("random", "bo"):
        raise PerturboError(f"--planner {cfg.planner}: a lab campaign runs random or bo")
    screen = lab_screen(cfg, getattr(context.store, "lab_inputs", None))
    space = GenePool(screen.genes, screen.spelling)
    if cfg.batch > len(space):
        raise PerturboError(
            f"--batch {cfg.batch} is larger than the {len(space)} genes of library "
            f"{cfg.library}: use --batch {len(space)} or less"
        )
    transfer = cfg.learn_from_past and cfg.planner == "bo" and "transfer" in cfg.prior
    labels = earlier_labels(context.store, screen, context.campaign) if transfer else ()
    planner = make_planner(cfg.planner, screen, cfg.model_dump(), extra_labels=labels)
    params = {
        **screen_params(cfg, screen),
        "lab": True,
        "hit_rule": cfg.hit_rule,
        "library_genes": len(screen),
    }
    return CampaignParts(
        kind=KIND_NAME,
        planner=planner,
        space=space,
        executor_factory=OutsideExecutor,
        batch=cfg.batch,
        stop=StopRule(rounds=cfg.rounds),
        config=cfg.model_dump(),
        params=params,
        metrics=LabMetrics(),
        objective="hit",
        direction="max",
        tags={"screen": screen.name, "study": screen.study},
    )


class GeneticLab:
    """What :mod:`perturbo.lab` asks of the genetic kind (``KindSpec.extras["lab"]``)."""

    accepts_inputs = True
    """:meth:`read_results` and :meth:`sheet` take the campaign's kept input files."""

    def describe(self, specs: Sequence[ExperimentSpec]) -> str:
        return f"{len(specs)} genes"

    def label(self, spec: ExperimentSpec) -> str:
        """How the lab names one experiment: its gene."""
        return str(spec.params.get("gene", spec.id))

    def read_results(
        self,
        config: Mapping[str, Any],
        path: str,
        pending: Sequence[ExperimentSpec],
        history: Sequence[Observation],
        inputs: Inputs | None = None,
    ) -> dict[str, Outcome]:
        """The outcomes the results file ``path`` gives the pending specs (by spec id): the
        score and the 0/1 hit by the campaign's hit rule, as a simulated screen's executor
        reports them (``inputs``: the campaign's kept input files, for its controls). Raises
        :class:`LabInputError` (one line) on anything wrong in the file."""
        from perturbo.kinds.genetic.lab.hit_rules import parse_hit_rule
        from perturbo.kinds.genetic.lab.results import read_results, recorded_genes
        from perturbo.kinds.genetic.screens import normalize_gene

        by_gene = {normalize_gene(str(s.params["gene"])): s for s in pending}
        got = read_results(  # its genes come back as the batch spells them
            path,
            pending=[str(s.params["gene"]) for s in by_gene.values()],
            earlier=recorded_genes(history),  # each gene's round and value, for the refusal
            hit_rule=parse_hit_rule(str(config.get("hit_rule") or "")),
            controls=_controls(config, inputs),
            library=_library_genes(config, inputs),
        )
        scores = dict(zip(got.table["Gene"], got.table["Score"], strict=True))
        return {
            by_gene[normalize_gene(g)].id: Outcome(
                Status.COMPLETED,
                {"score": float(scores[g]), "hit": 1.0 if g in got.hits else 0.0},
                worker="lab",
            )
            for g in got.told
        }

    def sheet(
        self,
        config: Mapping[str, Any],
        planner: Any,
        specs: Sequence[ExperimentSpec],
        inputs: Inputs | None = None,
    ) -> list[dict[str, str]]:
        """The batch sheet's rows (:func:`perturbo.kinds.genetic.lab.sheet.batch_sheet`): gene,
        rank, the planner's predicted hit probability and its sd (where it predicts), why it
        was picked, the library's guides; then the controls."""
        import csv
        import io

        from perturbo.kinds.genetic.lab.sheet import batch_sheet, gene_reasons, sheet_csv

        genes = [str(s.params["gene"]) for s in specs]
        mean = sd = None
        posterior = getattr(planner, "posterior", None)
        if callable(posterior):
            try:
                m, d = posterior(genes)
                mean, sd = [float(x) for x in m], [float(x) for x in d]
            except Exception:  # noqa: BLE001 - a prediction is a courtesy; the batch stands
                mean = sd = None
        table = batch_sheet(
            genes,
            library=_library(str(config["library"]), inputs),
            p_hit=mean,
            p_sd=sd,
            why=gene_reasons(planner, specs),
            round_no=(specs[0].round + 1) if specs else 1,
            controls=_controls(config, inputs),
        )
        return list(csv.DictReader(io.StringIO(sheet_csv(table))))

    def outlook(
        self, planner: Any, history: Sequence[Observation]
    ) -> tuple[list[str], dict[str, float]]:
        """Where the screen stands after the rounds told: hits found, each round's hit rate, and
        the hits estimated still in the untested library with an interval
        (:func:`perturbo.kinds.genetic.lab.outlook.outlook`)."""
        from perturbo.kinds.genetic.lab.outlook import outlook

        return outlook(planner, history)

    def untested_left(self, params: Mapping[str, str], tested: int) -> tuple[int, str] | None:
        """How many of the library's genes are left to propose once ``tested`` distinct ones
        were recorded or proposed (``--next-batch`` may not ask for more), and what they are
        called; ``None`` for a campaign that logged no library size."""
        size = params.get("library_genes")
        if size is None:
            return None
        return int(size) - tested, "untested gene(s) are left in the library"

    def hit_call(
        self,
        config: Mapping[str, Any],
        path: str,
        pending: Sequence[ExperimentSpec],
        history: Sequence[Observation],
        inputs: Inputs | None = None,
    ) -> str | None:
        """What the hit call of the results file ``path`` stood on, under any rule (a CSV:
        :func:`perturbo.kinds.genetic.lab.hit_call.hit_call_csv`: every row as read, with its
        file and line; the controls' reference and z under a z rule). ``path`` was read by
        :meth:`read_results` just before: it is read again, quietly."""
        import warnings

        from perturbo.kinds.genetic.lab.hit_call import hit_call_csv
        from perturbo.kinds.genetic.lab.hit_rules import parse_hit_rule
        from perturbo.kinds.genetic.lab.results import read_results, recorded_genes

        rule = parse_hit_rule(str(config.get("hit_rule") or ""))
        controls = _controls(config, inputs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # said once, by read_results
            got = read_results(
                path,
                pending=[str(s.params["gene"]) for s in pending],
                earlier=recorded_genes(history),
                hit_rule=rule,
                controls=controls,
                library=_library_genes(config, inputs),
            )
        return hit_call_csv(got, rule, controls, str(path))

    def hit_call_round(self, parts: Sequence[str]) -> dict[str, str]:
        """The round's hit call from its files' :meth:`hit_call` records (on the round's run)."""
        from perturbo.kinds.genetic.lab.hit_call import hit_call_round

        return hit_call_round(parts)

    def plots(self, data: Any) -> dict[str, Any]:
        """The campaign's ``hit_ratio.png``, drawn after each recorded round."""
        from perturbo.kinds.genetic.plots import lab_hit_ratio_plot

        return lab_hit_ratio_plot(data)


def _controls(config: Mapping[str, Any], inputs: Inputs | None = None) -> tuple[str, ...]:
    path = config.get("controls")
    return _gene_list(str(path), "--controls", inputs) if path else ()


def _library_genes(config: Mapping[str, Any], inputs: Inputs | None = None) -> Any:
    """The library's genes, read only when asked (a results file naming a gene not in the
    batch: in the library, or not?); ``None`` for a config without a library."""
    path = config.get("library")
    return (lambda: _library(str(path), inputs).genes) if path else None


LAB = GeneticLab()
