"""Is `mf-bo`'s acquisition optimiser the reason it looks at worse configs than ASHA-under-`bo`?
(issue 20 item 3; a diagnosis, like ``bo_probes.py``'s acq-gap for `bo`.)

    nice -n 10 .venv/bin/python benchmarks/mf_acq_probe.py             # DEV task, 5 seeds
    nice -n 10 .venv/bin/python benchmarks/mf_acq_probe.py --seeds 1 --rounds 6

`mf-bo` maximises its one-shot qMFKG with 2 restarts from 32 raw points and 10 L-BFGS
iterations (its cost knobs, set for the 1 s planner-time bar). For states along recorded
`mf-bo` runs (``mf_variants_runs.json``'s ``mf-bo-wins``, the default planner, replayed round
by round from the trace: same seed, same observations, so the same model), the same
acquisition object is maximised again with 16 restarts from 512 raw points and 200
iterations. Both batches are then scored by one independent judge: qMFKG's ``evaluate``
with 64 fantasies, each inner problem solved from 10 restarts / 256 raw points, at the
fidelities the planner would run (snapped to the ladder). The table gives both scores, the
share of the strong batch's value the default batch gets, and the fidelities each picked.

A large gap says the optimiser, not the model, decides what `mf-bo` looks at; a small one
says the opposite. Writes ``benchmarks/results/mf_acq_probe.md``. Diagnostic only: no planner
setting is chosen from it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import describe  # noqa: E402
from mf_trainer import DEV_TASK, Trainer  # noqa: E402

RESULTS = HERE / "results"
# name -> (restarts, raw points, L-BFGS iterations); `mf-bo`'s own call is "default" (2, 32, 10)
SETTINGS = {
    "iters30": (2, 32, 30),
    "iters60": (2, 32, 60),
    "raw128": (2, 128, 10),
    "r4-raw64-it30": (4, 64, 30),
    "strong": (16, 512, 200),
}
JUDGE = {"num_restarts": 10, "raw_samples": 256}


def probe_state(trace: list[Any], task: str, seed: int, rounds: int) -> dict[str, Any] | None:
    """Replay ``rounds`` rounds of 4 of one run, then capture its next qMFKG call and score
    the default and the strong maximiser's batches with the judge."""
    import botorch.optim as bopt
    import torch
    from botorch.acquisition.knowledge_gradient import qMultiFidelityKnowledgeGradient

    from perturbo.search.mf_bo import MFBOPlanner
    from perturbo.types import ExperimentSpec, Observation, Outcome, Status

    n = rounds * 4
    if len(trace) <= n:
        return None
    tr = Trainer(task, seed)
    pl = MFBOPlanner(
        tr.fidelity_space(), "hyperparameter", seed, objective="val_loss", direction="min"
    )
    for r in range(rounds):
        obs = []
        for i, (_, e, v, key) in enumerate(trace[4 * r : 4 * r + 4]):
            s = ExperimentSpec({**json.loads(key), "epochs": int(e)}, "hyperparameter")
            obs.append(
                Observation(s.stamped(f"{r}-{i}", r), Outcome(Status.COMPLETED, {"val_loss": v}))
            )
        pl.ask(4, [])  # keeps the planner's ask counter where the run had it
        pl.tell(obs)

    real = bopt.optimize_acqf
    got: dict[str, Any] = {}

    def spy(acq: Any, bounds: Any, q: int, **kw: Any) -> Any:
        t0 = time.process_time()
        out = real(acq, bounds=bounds, q=q, **kw)
        if isinstance(acq, qMultiFidelityKnowledgeGradient):
            got.update(
                acq=acq, bounds=bounds, q=q, default=out[0], default_s=time.process_time() - t0
            )
        return out

    bopt.optimize_acqf = spy
    try:
        asked = pl.ask(4, [])
    finally:
        bopt.optimize_acqf = real
    if not got:
        return None  # this round was all promotions
    acq, bounds, q = got["acq"], got["bounds"], got["q"]
    batches, cpu = {"default": got["default"]}, {"default": got["default_s"]}
    for name, (restarts, raw, iters) in SETTINGS.items():
        torch.manual_seed(seed)
        t0 = time.process_time()
        opts = {"maxiter": iters, "batch_limit": min(restarts, 4)}
        batches[name], _ = real(
            acq, bounds=bounds, q=q, num_restarts=restarts, raw_samples=raw, options=opts
        )
        cpu[name] = time.process_time() - t0
    judge = qMultiFidelityKnowledgeGradient(
        acq.model, num_fantasies=64, current_value=acq.current_value,
        cost_aware_utility=acq.cost_aware_utility, project=acq.project, X_pending=acq.X_pending,
    )  # fmt: skip
    d = bounds.shape[1] - 1

    def snapped(x: Any) -> Any:
        x = x.detach().clone()
        x[:, d] = torch.tensor([pl._snap(float(s)) / pl.f_max for s in x[:, d]], dtype=x.dtype)
        return x

    kg = {}
    for name, x in batches.items():
        torch.manual_seed(0)
        kg[name] = float(judge.evaluate(snapped(x)[None], bounds=bounds, **JUDGE))
    ran = {(k, int(e)) for _, e, _, k in trace[n : n + 4]}
    mine = {
        (
            tr.space.key({k: v for k, v in s.params.items() if k != "epochs"}),
            int(s.params["epochs"]),
        )
        for s in asked
    }
    fid = {name: [int(pl._snap(float(s))) for s in x[:, d]] for name, x in batches.items()}
    return {
        "seed": seed,
        "obs": n,
        "q": q,
        "kg": kg,
        "cpu": cpu,
        "fid": fid,
        "replayed": mine == ran,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--task", default=DEV_TASK)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--rounds", default="6,12,18", help="states: rounds of 4 replayed")
    ap.add_argument("--runs", default=str(RESULTS / "mf_variants_runs.json"))
    ap.add_argument("--method", default="mf-bo-wins", help="the runs' method name in --runs")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    runs = json.loads(Path(args.runs).read_text())[args.task]["runs"][args.method]
    rows = []
    for seed in range(args.seeds):
        for r in (int(x) for x in args.rounds.split(",")):
            t0 = time.perf_counter()
            row = probe_state(runs[str(seed)], args.task, seed, r)
            if row is None:
                print(f"seed {seed} round {r}: no qMFKG call (all promotions, or run too short)")
                continue
            rows.append(row)
            kgs = " ".join(f"{k} {v:.3g}" for k, v in row["kg"].items())
            print(
                f"seed {seed} obs {row['obs']}: {kgs} ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
    write(args, rows)
    return 0


def write(args: Any, rows: list[dict[str, Any]]) -> None:
    names = ["default", *SETTINGS]
    knobs = {"default": (2, 32, 10), **SETTINGS}
    lines = [
        f"# `mf-bo`'s qMFKG optimiser against stronger ones on `{args.task}`",
        "",
        f"_Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {describe()} by "
        f"`python benchmarks/mf_acq_probe.py --task {args.task} --seeds {args.seeds} "
        f"--rounds {args.rounds}` (runs: `{Path(args.runs).name}`, method `{args.method}`)._",
        "",
        "Each state: a recorded run replayed for that many rounds of 4 (the trace keeps configs "
        "to 9 significant digits, so the state is the run's up to that rounding), then its next "
        "qMFKG call captured and the same acquisition object maximised again under each setting "
        "(restarts, raw points, L-BFGS iterations): "
        + ", ".join(f"{k} {v}" for k, v in knobs.items())
        + ". Judge: `qMultiFidelityKnowledgeGradient.evaluate` with 64 fantasies, every batch at "
        "the fidelities the planner runs (snapped to the ladder). Cells: the judge's value "
        "(cost-weighted KG) and the CPU s of the maximisation.",
        "",
        "| seed | observations | q | " + " | ".join(names) + " | epochs: default / strong |",
        "|---|---|---|" + "---|" * len(names) + "---|",
    ]
    for r in rows:
        cells = " | ".join(f"{r['kg'][k]:.3g} ({r['cpu'][k]:.1f} s)" for k in names)
        lines.append(
            f"| {r['seed']} | {r['obs']} | {r['q']} | {cells} | {r['fid']['default']} / {r['fid']['strong']} |"
        )
    ok = [r for r in rows if r["kg"]["strong"] > 0]
    if ok:
        lines += [
            "",
            f"Share of the strong setting's value (median over {len(ok)} states; below half on):",
            "",
        ]
        for k in names[:-1]:
            sh = [r["kg"][k] / r["kg"]["strong"] for r in ok]
            cpu = statistics.median(r["cpu"][k] for r in rows)
            lines.append(
                f"- {k}: {statistics.median(sh):.2f}; {sum(x < 0.5 for x in sh)} of {len(sh)}; median CPU {cpu:.2f} s"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mf_acq_probe.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
