"""Before/after check for a refactor (issue 18): reduced runs of every benchmark table, with the
same protocol as the table's rows, on whatever ``perturbo`` is importable, and a comparison.

    # on a tree (PYTHONPATH may point at another checkout; BENCH: that tree's benchmarks/)
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/refactor_check.py --label after \\
        --bench-dir benchmarks --out benchmarks/results/refactor_check/after.json
    # then
    python benchmarks/refactor_check.py --compare before.json after.json

Sections (``--sections``, comma-separated):

- ``help``: wall and CPU seconds of ``python -m perturbo.cli --help`` and ``... run genetic
  --help`` (10 fresh processes each; median and quartiles) and the flag names ``run <kind> --help`` shows;
- ``demo``: wall seconds of ``perturbo run genetic`` (what ``make demo`` runs once installed);
- ``genetic``: ``benchmarks/genetic.py``'s ``run_one`` for its equal-information rows
  (``EQUAL``) and leave-one-screen-out rows (``LOSO``) on the 4 shipped screens, 5 rounds,
  128 genes (Scharenberg22: 32), ``--seeds`` seeds; a deterministic planner once (as the table);
- ``hyperparameter``: ``benchmarks/hyperparameter.py``'s ``one_run`` on 2 tasks x bo /
  optuna-tpe / random x 3 seeds x 25 evaluations, batch 4 (the table's batch);
- ``attack``: ``benchmarks/attack.py --quick --sections strength --skip art``;
- ``chat``: ``benchmarks/chat.py`` (the embedded model it picks, plus the router-only run);
- ``overhead``: ``benchmarks/overhead.py --trials 200 --no-tune-defaults`` (3 repeats).

The benchmark scripts are taken from ``--bench-dir`` (the tree under test's own copies), so the
check runs against any tree; it writes only ``--out`` (raw JSON; an existing file keeps the
sections not rerun), and with ``--compare`` ``--md`` (default
``benchmarks/results/refactor_check.md``, built by ``refactor_check_compare.py``). Running the
same tree twice and comparing shows which figures repeat exactly and how far timings wander.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
SECTIONS = ("help", "demo", "genetic", "hyperparameter", "attack", "chat", "overhead")
SCREENS = ("IFNG", "IL2", "Carnevale22_Adenosine", "Scharenberg22")
HP_TASKS = ("branin", "hpobench-australian")
HP_PLANNERS = ("bo", "optuna-tpe", "random")
KINDS = ("genetic", "hyperparameter", "attack")


def _module(bench_dir: Path, name: str) -> Any:
    """``bench_dir/name.py`` imported as a module (its own folder first on sys.path)."""
    sys.path.insert(0, str(bench_dir))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", bench_dir / f"{name}.py")
    assert spec and spec.loader, bench_dir / f"{name}.py"
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _run(cmd: list[str], cwd: Path, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


# -- sections ------------------------------------------------------------------------------------


def _child_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: less moved by other
    users of a shared box than wall time."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def sec_help(bench_dir: Path, work: Path, a: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, argv in (("perturbo --help", ["--help"]), ("run genetic --help", ["run", "genetic", "--help"])):  # fmt: skip
        walls, cpus = [], []
        for _ in range(10):
            t0, c0 = time.perf_counter(), _child_cpu()
            p = _run([sys.executable, "-m", "perturbo.cli", *argv], work, 120)
            walls.append(time.perf_counter() - t0)
            cpus.append(_child_cpu() - c0)
            assert p.returncode == 0, p.stderr[-2000:]
        q = statistics.quantiles(walls, n=4)
        out[label] = {"walls": walls, "median": statistics.median(walls), "q1": q[0], "q3": q[2],
                      "cpus": cpus, "cpu_median": statistics.median(cpus)}  # fmt: skip
    for kind in KINDS:
        p = _run([sys.executable, "-m", "perturbo.cli", "run", kind, "--help"], work, 120)
        out[f"flags {kind}"] = sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", p.stdout)))
    return out


def sec_demo(bench_dir: Path, work: Path, a: argparse.Namespace) -> dict[str, Any]:
    """What `make demo` runs after installing: `perturbo run genetic` (Ray, a sqlite store)."""
    t0 = time.perf_counter()
    p = _run([sys.executable, "-m", "perturbo.cli", "run", "genetic", "--no-progress"], work, 900)
    wall = time.perf_counter() - t0
    assert p.returncode == 0, p.stderr[-3000:]
    return {"wall_s": wall, "tail": (p.stdout + p.stderr)[-1500:]}


def sec_genetic(bench_dir: Path, work: Path, a: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    g = _module(bench_dir, "genetic")
    jobs = [(s, "equal") for s in g.EQUAL] + [(s, "loso") for s in g.LOSO]
    runs = []
    for spec, table in jobs:
        for screen in SCREENS:
            batch = g.PAPER_BATCH.get(screen, 128)
            for seed in range(a.seeds):
                r = g.run_one(spec, screen, seed, 5, batch, table)
                runs.append(asdict(r))
                print(f"genetic {table} {spec} {screen} {seed}: {r.hit_ratio:.4f}", flush=True)
                if r.deterministic and seed == 0:
                    break
    return {"runs": runs}


def sec_hyperparameter(bench_dir: Path, work: Path, a: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    h = _module(bench_dir, "hyperparameter")
    runs = []
    for task in HP_TASKS:
        ref = h.reference(h.make_task(task))
        for planner in HP_PLANNERS:
            for seed in range(3):
                r = h.one_run(planner, task, seed, 25, 4)
                curve = h.regret_curve(h.make_task(task), r["values"], ref)
                r["regret"] = [float(x) for x in curve]
                runs.append(r)
                print(f"hyperparameter {task} {planner} {seed}: {r['regret'][-1]:.4g}", flush=True)
    return {"runs": runs}


def sec_attack(bench_dir: Path, work: Path, a: argparse.Namespace) -> dict[str, Any]:
    out = work / "attack"
    cmd = [sys.executable, str(bench_dir / "attack.py"), "--quick", "--sections", "strength",
           "--skip", "art", "--out", str(out)]  # fmt: skip
    p = _run(cmd, work)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads((out / "attack-quick.json").read_text())


def sec_chat(bench_dir: Path, work: Path, a: argparse.Namespace) -> dict[str, Any]:
    md = work / "chat.md"
    p = _run([sys.executable, str(bench_dir / "chat.py"), "--out", str(md)], work)
    assert p.returncode == 0, p.stderr[-3000:]
    text = md.read_text()
    summary, questions = [], {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 10 and re.fullmatch(r"\d+/\d+", cells[2]):
            summary.append({"model": cells[0], "set": cells[1], "correct": cells[2],
                            "median_s": float(cells[4]), "mean_s": float(cells[5])})  # fmt: skip
    for head, body in re.findall(r"^## (.+?)\n\n(\|.*?)(?:\n\n|\Z)", text, re.S | re.M):
        rows = [r.strip().strip("|").split("|") for r in body.splitlines()[2:]]
        questions[head] = [
            [c.strip() for c in (r[0], r[2], r[3], r[5])] for r in rows if len(r) >= 6
        ]
    return {"summary": summary, "questions": questions}


def sec_overhead(bench_dir: Path, work: Path, a: argparse.Namespace) -> dict[str, Any]:
    out = work / "overhead"
    cmd = [sys.executable, str(bench_dir / "overhead.py"), "--trials", "200", "--no-tune-defaults",
           "--out", str(out)]  # fmt: skip
    p = _run(cmd, work)
    assert p.returncode == 0, p.stderr[-3000:]
    saved = json.loads((out / "overhead.json").read_text())
    saved["repeats_s"] = [
        [float(x) for x in m.group(2).split(",")]
        for m in re.finditer(r"^([\w =]+): \[([^\]]*)\] s$", p.stdout, re.M)
    ]
    return saved


def run_sections(a: argparse.Namespace) -> dict[str, Any]:
    import perturbo

    result: dict[str, Any] = {
        "label": a.label,
        "commit": a.commit,
        "perturbo": str(Path(perturbo.__file__).parent),
        "bench_dir": str(a.bench_dir),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "load_start": os.getloadavg(),
        "sections": {},
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if a.out.is_file():  # rerunning some sections keeps the others and the first run's header
        old = json.loads(a.out.read_text())
        result.update({k: v for k, v in old.items() if k not in ("bench_dir", "perturbo")})
    with tempfile.TemporaryDirectory(prefix="refactor-check-") as tmp:
        for name in a.sections:
            t0 = time.perf_counter()
            print(f"== {name}", flush=True)
            data = globals()[f"sec_{name}"](a.bench_dir.resolve(), Path(tmp), a)
            data["section_s"] = time.perf_counter() - t0
            data["started"] = time.strftime(
                "%H:%M:%S UTC", time.gmtime(time.time() - data["section_s"])
            )
            data["load_end"] = os.getloadavg()
            result["sections"][name] = data
            a.out.write_text(json.dumps(result, indent=1, default=str))
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    ap.add_argument("--label", default="run")
    ap.add_argument("--commit", default="?", help="the tree's commit, recorded in the JSON")
    ap.add_argument("--bench-dir", type=Path, default=HERE, help="the tree's benchmarks/")
    ap.add_argument("--sections", default=",".join(SECTIONS))
    ap.add_argument("--seeds", type=int, default=2, help="genetic seeds per screen (2)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--note", default="", help="--compare: a closing paragraph (what was found)")
    ap.add_argument("--title", default="", help="--compare: the report's heading")
    ap.add_argument("--md", type=Path, default=HERE / "results" / "refactor_check.md")
    a = ap.parse_args(argv)
    if a.compare:
        from refactor_check_compare import compare  # type: ignore[import-not-found]

        before, after = (json.loads(p.read_text()) for p in a.compare)
        text = compare(before, after, *([a.title] if a.title else []))
        a.md.write_text(text + (f"\n## Notes\n\n{a.note}\n" if a.note else ""))
        print(a.md.read_text())
        return 0
    a.sections = [s for s in a.sections.split(",") if s]
    bad = set(a.sections) - set(SECTIONS)
    if bad:
        ap.error(f"unknown sections {sorted(bad)}; choose from {SECTIONS}")
    a.out = a.out or HERE / "results" / "refactor_check" / f"{a.label}.json"
    run_sections(a)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
