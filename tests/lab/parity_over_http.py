"""The parity run once against an MLflow server on PostgreSQL over HTTP (issue 19's bar):

    .venv/bin/python tests/lab/parity_over_http.py [ROUNDS BATCH]

Starts PostgreSQL and ``deploy/mlflow-server.sh`` (tests/cluster/servers.py: free ports,
stopped by PID), runs the simulated campaign in-process on sqlite and the scripted lab
(tests/lab/scripted_lab.py, CLI only) against the server, and prints whether every round's
proposals and answers are identical. Exit 0 when they are.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "cluster")]

from servers import postgres_bin, remove_postgres_dir, start_mlflow, start_postgres  # noqa: E402
from test_lab_parity import _files, _rounds  # noqa: E402

from perturbo.cli import main as perturbo  # noqa: E402


def main(rounds: int = 5, batch: int = 128) -> int:
    bin_dir = postgres_bin()
    if bin_dir is None:
        print("no PostgreSQL binaries: nothing run")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="perturbo-lab-http-"))
    os.chdir(tmp)
    pg = start_postgres(bin_dir)
    server = None
    try:
        (tmp / "server").mkdir()
        server = start_mlflow(pg.uri, tmp / "server").wait_ready()
        sim, hits, task, lib = _files(tmp, "Scharenberg22")
        common = ["--planner", "bo", "--rounds", str(rounds), "--batch", str(batch)]
        common += ["--seed", "0", "--task", str(task)]
        sim_uri = f"sqlite:///{tmp}/sim.db"
        args = ["run", "genetic", "--screen", str(sim), "--hits", str(hits), "--local"]
        assert perturbo([*args, "--name", "sim", "--tracking-uri", sim_uri, *common]) == 0
        start = ["--library", str(lib), "--hit-rule", "column", *common]
        lab = subprocess.run(
            [sys.executable, str(HERE / "scripted_lab.py"), "lab", str(sim), str(hits),
             server.url, *start],
            cwd=tmp, capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        print(lab.stderr[-2000:])
        if lab.returncode != 0:
            return 1
        same = _rounds(sim_uri, "sim") == _rounds(server.url, "lab")
        told = _rounds(server.url, "lab")
        print(f"over HTTP on PostgreSQL: {len(told)} rounds x {[len(r) for r in told]}; "
              f"identical to the simulated campaign: {same}")  # fmt: skip
        return 0 if same else 1
    finally:
        if server is not None:
            server.stop()
        pg.stop()
        remove_postgres_dir(pg)


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:3])))
