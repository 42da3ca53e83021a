"""The chat's read tools: what the store says about campaigns, as text and JSON.

Every number is computed from the store's read side (:mod:`perturbo.agents.chat.facts`,
:mod:`perturbo.agents.chat.compare`) and rendered by template; a campaign name is resolved by
:mod:`perturbo.agents.chat.names` (an unknown one is said to be unknown, never swapped).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from perturbo.agents.chat.cascade import breaks_of, on_subsets, trial_line
from perturbo.agents.chat.catalog import spec_of
from perturbo.agents.chat.compare import compare, leaders, rank
from perturbo.agents.chat.facts import campaign_facts, fmt, hit_metric_of, resolve
from perturbo.agents.chat.figures import lookup, objectives_of
from perturbo.agents.chat.result import ToolResult
from perturbo.agents.chat.scores import best_of
from perturbo.agents.chat.stops import error_lines, stop_reason
from perturbo.kindspec import shown_params
from perturbo.tracking.uri import shown_uri
from perturbo.types import PerturboError, Status, counted

__all__ = ["ReadTools"]


class ReadTools:
    """The read tools; mixed into :class:`~perturbo.agents.chat.tools.ChatTools` (which gives
    ``store``, ``launcher``, ``plots_dir`` and ``kinds``)."""

    store: Any
    launcher: Any
    plots_dir: Any
    kinds: Any

    def list_campaigns(self, kind: str | None = None) -> ToolResult:
        """List the campaigns in the store (newest first) with status, kind, planner, progress
        and best result; ``kind`` keeps one kind."""
        rows = self.store.list_campaigns(kind)
        facts = [campaign_facts(self.store, c.name, kinds=self.kinds) for c in rows]
        if not facts:
            where = "has no campaigns yet" if self.store.exists() else "does not exist yet"
            text = (
                f"The store {shown_uri(self.store.uri)} {where}"
                + (f" of kind {kind}" if kind else "")
                + "."
            )
        else:
            kinds_count = Counter(f.summary.kind for f in facts)
            by_kind = ", ".join(f"{n} {k}" for k, n in sorted(kinds_count.items()))
            text = (
                f"{len(facts)} campaigns in {shown_uri(self.store.uri)} ({by_kind}):\n"
                + "\n".join(f.list_line() for f in facts)
            )
            text += "\n" + "\n".join(leaders(facts))
        jobs = self.launcher.jobs.values()
        if jobs:
            text += "\nStarted from this chat: " + "; ".join(
                f"{j.campaign} ({j.state()})" for j in jobs
            )
        return ToolResult(text, {"campaigns": [f.data() for f in facts]})

    def summarize_campaign(self, name: str, about: list[str] | None = None) -> ToolResult:
        """Summarise one campaign: its settings, what was tried, what worked (hits by round,
        the best experiments), how its planners compare; ``about``: experiments to look up
        (a gene, a method)."""
        f = campaign_facts(self.store, resolve(self.store, name), kinds=self.kinds)
        found = lookup(self.store.history(f.name), about or [], f.hit_metric, f.name)
        text = "\n".join([*found, f.text()])
        return ToolResult(text, {**f.data(), "lookup": found})

    def explain_round(self, name: str, round: int | None = None) -> ToolResult:
        """Explain why a round's experiments were chosen (round numbers start at 1; default
        the last round): the planners' logged rationale, the agents' traces, the results."""
        name = resolve(self.store, name)
        history = list(self.store.history(name))
        rounds = sorted({o.spec.round for o in history})
        if not rounds:
            return ToolResult(f"{name} has no recorded rounds yet.", {"name": name})
        r0 = rounds[-1] if round is None else int(round) - 1
        if r0 not in rounds:
            raise PerturboError(
                f"{name} has no round {round}: its recorded rounds are 1 to {rounds[-1] + 1}"
            )
        obs = [o for o in history if o.spec.round == r0]
        notes = Counter((o.spec.planner or "?", o.spec.note or "no rationale logged") for o in obs)
        lines = [f"Round {r0 + 1} of {name}: {len(obs)} experiments."]
        lines += [f"- {n} chosen by {p}: {note}" for (p, note), n in notes.most_common(6)]
        traces = [t for t in self.store.traces(name) if int(t.get("round", -1)) == r0]
        for t in traces:
            src = ", ".join(f"{v} by {k}" for k, v in dict(t.get("by_source", {})).items())
            lines.append(
                f"- agent trace ({t.get('planner', 'agent')}): {len(t.get('calls', []))} LLM calls, "
                f"{t.get('repairs', 0)} repairs, validity {fmt(float(t.get('validity', 0.0)))}"
                + (f", filled {src}" if src else "")
            )
            if t.get("rationale"):
                lines.append(f"  rationale: {str(t['rationale'])[:400]}")
        metrics = self.store.round_metrics(name).get(r0, {})
        shown = {k: v for k, v in metrics.items() if not k.endswith("_s")}
        if shown:
            lines.append(
                "Round metrics: " + ", ".join(f"{k} = {fmt(v)}" for k, v in shown.items()) + "."
            )
        lines += self._round_results(name, history, obs, r0, last=r0 == rounds[-1])
        spec = spec_of(self.kinds, self.store.summary(name).kind)
        picked = ", ".join(
            ",".join(str(v) for v in shown_params(spec, o.spec.params).values()) for o in obs[:16]
        )
        lines.append(f"Chosen: {picked}{' ...' if len(obs) > 16 else ''}.")
        data = {
            "name": name, "round": r0 + 1, "n": len(obs), "metrics": metrics,
            "notes": [{"planner": p, "note": n, "count": c} for (p, n), c in notes.items()],
            "traces": traces, "params": [dict(o.spec.params) for o in obs],
        }  # fmt: skip
        return ToolResult("\n".join(lines), data)

    def _round_results(
        self, name: str, history: list[Any], obs: list[Any], r0: int, *, last: bool
    ) -> list[str]:
        """What a round's experiments found, in the kind's own terms: hits where the kind
        finds things; else each attack trial's newly broken samples (the cascade: each
        attacks only the samples still standing), or the round's best value; then what did
        not complete and why, and (the last round) why the campaign stopped."""
        summary = self.store.summary(name)
        spec = spec_of(self.kinds, summary.kind)
        findings = spec is not None and getattr(spec, "findings", None) is not None
        objs, dirs = objectives_of(summary, history, findings=findings)
        lines: list[str] = []
        if findings or (spec is None and not objs):
            hit = hit_metric_of(obs)
            if hit is not None:
                found = [o for o in obs if o.outcome.metrics.get(hit) == 1.0]
                genes = ", ".join(",".join(str(v) for v in o.spec.params.values()) for o in found)
                lines.append(
                    f"Hits in round {r0 + 1}: {len(found)} hits" + (f": {genes}." if genes else ".")
                )
        elif len(objs) == 1 and on_subsets(history):
            breaks = breaks_of(history, _eps(summary))
            lines.append(f"Results in round {r0 + 1} (new samples broken):")
            lines += [f"- {trial_line(o, breaks, objs[0])}" for o in obs[:16]]
        elif objs:
            done = len([o for o in obs if o.outcome.status is Status.COMPLETED])
            for obj, d in zip(objs, dirs, strict=True):
                b = best_of(obs, obj, d, 1)
                if b:
                    lines.append(f"Best in round {r0 + 1} ({obj}, {d}; {done} completed): "
                                 f"{b[0].line(obj)}")  # fmt: skip
        lines += error_lines(obs, f" in round {r0 + 1}")
        why = stop_reason(summary) if last else ""
        if why:
            lines.append(f"The campaign stopped: {why[:600]}.")
        return lines

    def compare_campaigns(
        self, first: str, second: str, others: list[str] | None = None
    ) -> ToolResult:
        """Compare two (or more) campaigns side by side: settings, experiments, hits, best
        results; totals, differences and which is higher are computed here."""
        names = [resolve(self.store, n) for n in [first, second, *(others or [])]]
        names = list(dict.fromkeys(names))
        if len(names) < 2:
            raise PerturboError(
                f"{first!r} and {second!r} are the same campaign ({names[0]}): name two "
                "different ones to compare"
            )
        text, data = compare([campaign_facts(self.store, n, kinds=self.kinds) for n in names])
        return ToolResult(text, data)

    def rank_campaigns(self, by: str | None = None, kind: str | None = None) -> ToolResult:
        """Rank the campaigns (of ``kind``) by ``by``: hits, hit_ratio, best, experiments,
        rounds or started; with the leader and totals of each."""
        rows = self.store.list_campaigns(kind)
        text, data = rank([campaign_facts(self.store, c.name, kinds=self.kinds) for c in rows], by)
        return ToolResult(text, data)

    def propose_experiments(self, name: str, n: int = 4) -> ToolResult:
        """Propose the next ``n`` experiments for a campaign: its own planner, told everything
        recorded, asked for more (nothing runs; pin them to run them)."""
        from perturbo.kindspec import BuildContext

        name = resolve(self.store, name)
        if not 1 <= int(n) <= 64:
            raise PerturboError(f"n={n}: propose between 1 and 64 experiments")
        config = self.store.config(name)
        spec = self.kinds.get(str(config.get("kind", "")))
        parts = spec.build(config, BuildContext(store=self.store, campaign=name))
        history = list(self.store.history(name))
        parts.planner.tell(history)
        specs = parts.planner.ask(int(n), [])
        rows = []
        for s in specs:
            try:
                params = parts.space.validate(s.params)
            except Exception:  # an invalid proposal is not worth showing
                continue
            rows.append(
                {"params": shown_params(spec, params), "planner": s.planner, "note": s.note}
            )
        text = (
            f"{counted(len(rows), 'proposals')} for {name} from its planner ({config.get('planner', '?')}):\n"
            + "\n".join(
                f"- {json.dumps(r['params'], default=str)}"
                + (f" ({r['note']})" if r["note"] else "")
                for r in rows
            )
        )
        return ToolResult(
            text + "\nSay which to run and I will pin them.", {"name": name, "proposals": rows}
        )

    def show_plot(self, name: str, plot: str | None = None) -> ToolResult:
        """Show a campaign's plot (a PNG from the store): ``plot`` names one (default the first)."""
        name = resolve(self.store, name)
        pngs = [p for p in self.store.artifacts(name, "plots") if p.endswith(".png")]
        if not pngs:
            raise PerturboError(f"{name} has no plots yet (they are logged when a campaign ends)")
        pick = pngs[0]
        if plot:
            hits = [p for p in pngs if plot.lower() in p.lower()]
            if not hits:
                raise PerturboError(f"{name} has no plot {plot!r}: it has {', '.join(pngs)}")
            pick = hits[0]
        from perturbo.names import inside

        dst = inside(self.plots_dir, name)  # a name like '../x' never leaves the folder
        path = self.store.download(name, pick, dst)
        others = [p for p in pngs if p != pick]
        text = f"Plot {pick} of {name}: {path}" + (
            f" (also: {', '.join(others)})" if others else ""
        )
        return ToolResult(
            text, {"name": name, "plot": pick, "path": str(path), "plots": pngs}, image=str(path)
        )


def _eps(summary: Any) -> float | None:
    try:
        return float(summary.params.get("eps"))
    except (TypeError, ValueError):
        return None
