"""A scripted lab: drives a lab campaign to its end through the CLI alone.

    python scripted_lab.py CAMPAIGN SCREEN.csv HITS.txt TRACKING_URI [START ARGS...]

With START ARGS it first runs ``perturbo run genetic --lab START ARGS``; then, round after
round, it reads the batch sheet the last command wrote, answers each gene from the screen
(``Gene,Score,Hit``: the measured score and the screen's hit label) and ``perturbo tell``s
it, until the campaign says it finished. It knows nothing of perturbo but its command line:
a lab's computer.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path


def perturbo(*args: str) -> str:
    p = subprocess.run(
        [sys.executable, "-m", "perturbo.cli", *args], capture_output=True, text=True, check=False
    )
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        raise SystemExit(f"perturbo {' '.join(args[:2])} exited {p.returncode}")
    return p.stderr


def main(argv: list[str]) -> int:
    name, screen_csv, hits_txt, uri, *start = argv
    with open(screen_csv) as f:
        score = {r["Gene"].strip().upper(): r["Score"] for r in csv.DictReader(f)}
    hits = {g.strip().upper() for g in Path(hits_txt).read_text().split() if g.strip()}
    if start:
        perturbo("run", "genetic", "--lab", "--name", name, "--tracking-uri", uri, *start)
    n = 1
    while True:
        sheet = Path(f"{name}-round{n}.csv")
        with sheet.open() as f:
            genes = [r["Gene"] for r in csv.DictReader(f) if r["Rank"]]
        results = Path(f"results-round{n}.csv")
        with results.open("w") as f:
            f.write("Gene,Score,Hit\n")
            for g in genes:
                f.write(f"{g},{score[g]},{int(g in hits)}\n")
        said = perturbo("tell", name, str(results), "--tracking-uri", uri)
        if "finished" in said:
            return 0
        n += 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
