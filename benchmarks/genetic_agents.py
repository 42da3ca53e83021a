"""LLM planners (``agent``, ``hybrid``; local Qwen2.5-Coder-1.5B) beside ``bo`` and ``random``
on the shipped screens, with the agent's own numbers: proposal validity, repair turns,
tokens and seconds per round.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/genetic_agents.py            # 4 screens x 3 seeds
    python benchmarks/genetic_agents.py --screens IFNG --seeds 1 --rounds 2     # a quick look
    python benchmarks/genetic_agents.py --round-speed                           # one 5 x 128 round, timed

Every campaign runs through :func:`perturbo.campaign.run` (LocalExecutorPool), planners built
by :func:`perturbo.kinds.genetic.compose.make_planner` exactly as ``perturbo run genetic`` builds them.
Runs are appended to ``benchmarks/results/genetic_agents_runs.jsonl`` as they finish (an
interrupted benchmark keeps what it measured; ``--resume`` skips runs already there), and the
table ``genetic_agents.md`` + plot ``genetic_agents.png`` are rebuilt from all stored runs.

The local model runs greedily (temperature 0), so an identical prompt gives an identical
answer: answers are memoised per prompt within one benchmark process (``--no-memo`` to turn
off). Memoised calls cost no time, so seconds/tokens per round are averaged over the calls
that really ran the model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = "genetic_agents_runs.jsonl"
BATCH = {"Scharenberg22": 32}
SCREENS = ("IFNG", "IL2", "Carnevale22_Adenosine", "Scharenberg22")


@dataclass
class Run:
    planner: str
    screen: str
    seed: int
    rounds: int
    batch: int
    hit_ratio: float
    curve: list[float]
    planner_s: list[float]
    validity: list[float] = field(default_factory=list)  # per round, before fallback
    validity_first: list[float] = field(default_factory=list)  # per round, first answer
    agent_share: list[float] = field(default_factory=list)  # share of the batch the agent chose
    fallback: list[int] = field(default_factory=list)  # genes filled by the fallback, per round
    repairs: list[int] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    llm_s: list[float] = field(default_factory=list)  # LLM seconds per round (-1: memoised)
    rationale: list[str] = field(default_factory=list)


class MemoEngine:
    """Memoise a deterministic engine's answers by prompt (benchmark only)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.model_name = engine.model_name
        self.memo: dict[str, dict[str, Any]] = {}
        self.hits = 0

    def chat(self, messages: Any, **kw: Any) -> dict[str, Any]:
        key = hashlib.sha256(
            json.dumps([messages, kw], sort_keys=True, default=str).encode()
        ).hexdigest()
        if key in self.memo:
            self.hits += 1
            out = dict(self.memo[key])
            out["usage"] = {"prompt_tokens": 0, "completion_tokens": 0}  # nothing ran
            return out
        out = self.engine.chat(messages, **kw)
        self.memo[key] = out
        return out

    def stream(self, messages: Any, **kw: Any) -> Any:
        return self.engine.stream(messages, **kw)


def run_one(spec: str, screen_name: str, seed: int, rounds: int, engine: Any, threads: int) -> Run:
    import torch

    from perturbo.kinds.genetic import load_screen
    from perturbo.kinds.genetic.compose import make_planner

    torch.set_num_threads(1)
    screen = load_screen(screen_name)
    batch = BATCH.get(screen_name, 128)
    name, *opts = spec.split(":")
    config: dict[str, Any] = {"seed": seed, "llm_threads": threads}
    for o in opts:
        k, _, v = o.partition("=")
        config[k] = v
    if name in ("agent", "hybrid"):
        from perturbo.kinds.genetic.agent.genetic_factory import make_genetic_planner

        planner = make_genetic_planner(name, screen, config, engine=engine)
    else:
        planner = make_planner(name, screen, config)
    r = Run(spec, screen_name, seed, rounds, batch, 0.0, [], [])

    def on_round(rep: Any) -> None:
        r.curve.append(float(rep.metrics["hit_ratio"]))
        r.planner_s.append(float(rep.planner_s))
        t = getattr(planner, "last_trace", None)
        if t is not None:
            r.validity.append(t.validity)
            r.validity_first.append(t.validity_first)
            r.agent_share.append(t.by_source.get("agent", 0) / batch)
            r.fallback.append(t.by_source.get("fallback", 0))
            r.repairs.append(t.repairs)
            r.tokens.append(t.tokens)
            ran = all(c.input_tokens > 0 for c in t.calls) and bool(t.calls)
            r.llm_s.append(sum(c.seconds for c in t.calls) if ran else -1.0)
            r.rationale.append(t.rationale[:200])
        print(
            f"  {spec} {screen_name} s{seed} round {rep.round}: hit ratio {r.curve[-1]:.3f}, "
            f"planner {rep.planner_s:.1f} s"
            + (f", {t.by_source}, repairs {t.repairs}" if t else ""),
            flush=True,
        )

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from genetic import run_local

    run_local(screen, planner, batch, rounds, on_round)
    r.hit_ratio = r.curve[-1] if r.curve else 0.0
    return r


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else float("nan")


def _cell(vals: list[float]) -> str:
    if not vals:
        return "—"
    sd = statistics.pstdev(vals) if len(vals) > 1 else 0.0
    return f"{statistics.fmean(vals):.3f} ± {sd:.3f} (n={len(vals)})"


def write_table(runs: list[Run], out: Path, note: str) -> None:
    screens = [s for s in SCREENS if any(r.screen == s for r in runs)]
    planners = list(dict.fromkeys(r.planner for r in runs))
    lines = [
        "# LLM planners on the genetic screens (local Qwen2.5-Coder-1.5B Q4_K_M)",
        "",
        f"Generated by `benchmarks/genetic_agents.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).",
        "Hit ratio after the rounds run (5 x 128 genes; Scharenberg22 x 32), mean ± std over seeds;",
        "`bo` and `random` ran in the same process on the same seeds.",
        "",
        note,
        "",
        "| planner | " + " | ".join(screens) + " |",
        "|---|" + "---|" * len(screens),
    ]
    for p in planners:
        cells = []
        for s in screens:
            rs = [r for r in runs if r.planner == p and r.screen == s]
            rounds = {r.rounds for r in rs}
            tag = (
                f" [{','.join(str(x) for x in sorted(rounds))} rounds]"
                if rounds and rounds != {5}
                else ""
            )
            cells.append(_cell([r.hit_ratio for r in rs]) + tag)
        lines.append(f"| `{p}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Agent numbers per round (all screens and seeds)",
        "",
        "validity = share of the model's proposed items (set ids / genes) that were valid, before any",
        "fallback; first = in its first answer, before repair turns; agent share = share of the batch",
        "the agent chose (the rest: `bo` in hybrid, marked `fallback` in agent); LLM s and tokens:",
        "mean over rounds whose calls really ran the model (memoised repeats excluded).",
        "",
        "| planner | rounds | validity | validity (first) | min validity | agent share | fallback genes/round | repairs/round | tokens/round | LLM s/round | planner s/round |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in planners:
        rs = [r for r in runs if r.planner == p and r.validity]
        if not rs:
            continue
        v = [x for r in rs for x in r.validity]
        ran = [
            (r.llm_s[i], r.tokens[i]) for r in rs for i in range(len(r.llm_s)) if r.llm_s[i] >= 0
        ]
        lines.append(
            f"| `{p}` | {len(v)} | {_mean(v):.3f} | {_mean([x for r in rs for x in r.validity_first]):.3f} | "
            f"{min(v):.3f} | {_mean([x for r in rs for x in r.agent_share]):.2f} | "
            f"{_mean([x for r in rs for x in r.fallback]):.1f} | {_mean([x for r in rs for x in r.repairs]):.2f} | "
            f"{_mean([t for _, t in ran]):.0f} | {_mean([s for s, _ in ran]):.1f} (n={len(ran)}) | "
            f"{_mean([x for r in rs for x in r.planner_s]):.1f} |"
        )
    lines += ["", "![hit ratio vs round](genetic_agents.png)", ""]
    ex = [r for r in runs if r.rationale]
    if ex:
        lines += ["## Example rationales (first seed of each planner and screen)", ""]
        for p in planners:
            for s in screens:
                rs = [r for r in ex if r.planner == p and r.screen == s]
                if rs:
                    lines.append(
                        f"- `{p}` {s}, round 2: {rs[0].rationale[min(1, len(rs[0].rationale) - 1)]}"
                    )
        lines.append("")
    (out / "genetic_agents.md").write_text("\n".join(lines))
    _plot(runs, screens, planners, out / "genetic_agents.png")


def _plot(runs: list[Run], screens: list[str], planners: list[str], path: Path) -> None:
    """The same hit-ratio-vs-round figure as benchmarks/genetic.py (paper lines included)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from genetic import plot

    order = {p: i for i, p in enumerate(planners)}
    chosen = sorted((r for r in runs if r.planner in order), key=lambda r: order[r.planner])
    plot(chosen, screens, path)  # type: ignore[arg-type]  # duck-typed: planner/screen/curve


def load_runs(out: Path) -> list[Run]:
    path = out / RUNS
    if not path.is_file():
        return []
    return [Run(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def round_speed(threads: int) -> str:
    """One agent round of 128 genes on IFNG after 4 rounds of history, timed (model loaded)."""
    from perturbo.agents.llama_engine import EngineSettings, shared_engine

    engine = shared_engine(EngineSettings(n_threads=threads))
    t0 = time.perf_counter()
    r = run_one("agent", "IFNG", 0, 5, engine, threads)
    per = ", ".join(f"{x:.1f}" for x in r.planner_s)
    return (
        f"agent 5 x 128 on IFNG, planner seconds per round: {per} (LLM s: "
        f"{', '.join(f'{x:.1f}' for x in r.llm_s)}); whole campaign {time.perf_counter() - t0:.0f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--planners", default="agent,hybrid,bo,random")
    ap.add_argument("--screens", default=",".join(SCREENS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads (default 2)")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--resume", action="store_true", help="skip runs already stored")
    ap.add_argument("--no-memo", action="store_true")
    ap.add_argument(
        "--round-speed", action="store_true", help="only time one 5 x 128 agent campaign"
    )
    ap.add_argument(
        "--table-only", action="store_true", help="rebuild the table/plot from stored runs"
    )
    ap.add_argument("--note", default="", help="a line for the table (e.g. what did not fit)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.round_speed:
        print(round_speed(args.threads))
        return 0
    if args.table_only:
        write_table(load_runs(args.out), args.out, args.note)
        return 0
    from perturbo.agents.llama_engine import EngineSettings, shared_engine

    planners = [p for p in args.planners.split(",") if p]
    engine: Any = None
    if any(p.split(":")[0] in ("agent", "hybrid") for p in planners):
        engine = shared_engine(EngineSettings(model=args.model, n_threads=args.threads))
        if not args.no_memo:
            engine = MemoEngine(engine)
    done = (
        {(r.planner, r.screen, r.seed, r.rounds) for r in load_runs(args.out)}
        if args.resume
        else set()
    )
    for seed in range(args.seeds):  # seed-major: every screen gets a first seed early
        for screen in args.screens.split(","):
            for p in planners:
                if (p, screen, seed, args.rounds) in done:
                    continue
                r = run_one(p, screen, seed, args.rounds, engine, args.threads)
                with (args.out / RUNS).open("a") as f:
                    f.write(json.dumps(asdict(r)) + "\n")
                write_table(load_runs(args.out), args.out, args.note)
                print(f"{p} {screen} seed {seed}: hit ratio {r.hit_ratio:.3f}", flush=True)
    write_table(load_runs(args.out), args.out, args.note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
