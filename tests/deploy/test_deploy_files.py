"""The deploy files parse and say what they must (they cannot run here: no Docker, no k8s;
the MLflow script does run, on PostgreSQL, in tests/cluster)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((DEPLOY / name).read_text())
    assert isinstance(doc, dict), f"{name} is not a YAML mapping"
    return doc


@pytest.mark.parametrize("name", sorted(p.name for p in DEPLOY.glob("*.yaml")))
def test_yaml_parses(name: str) -> None:
    _load(name)


def test_cluster_launcher() -> None:
    doc = _load("cluster.yaml")
    types = doc["available_node_types"]
    assert doc["head_node_type"] in types
    assert types[doc["head_node_type"]]["resources"] == {"CPU": 0}
    assert doc["max_workers"] >= sum(t.get("max_workers", 0) for t in types.values())
    assert doc["docker"]["image"] == "registry.example.com/perturbo:0.1.0"
    gpu = types["gpu_worker"]["docker"]
    assert gpu["worker_image"] == "registry.example.com/perturbo:0.1.0-cuda"
    assert "--gpus all" in gpu["worker_run_options"]
    assert any("RAY_AUTH_MODE=token" in o for o in doc["docker"]["run_options"])
    (head_start,) = [c for c in doc["head_start_ray_commands"] if c.startswith("ray start")]
    assert "--dashboard-host=127.0.0.1" in head_start  # reached through `ray dashboard` (ssh)
    for c in doc["head_start_ray_commands"] + doc["worker_start_ray_commands"]:
        assert c.split()[0] == "ray" and c.split()[1] in ("start", "stop"), c


def test_mlflow_server_script() -> None:
    text = (DEPLOY / "mlflow-server.sh").read_text()
    assert 'HOST="${MLFLOW_HOST:-127.0.0.1}"' in text
    assert "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false" in text and "sqlite:///" in text
    assert "MLFLOW_BACKEND_STORE_URI" in text and "--artifacts-destination" in text
    subprocess.run(["bash", "-n", str(DEPLOY / "mlflow-server.sh")], check=True)


def test_mlflow_compose() -> None:
    doc = _load("mlflow-compose.yaml")
    db, server = doc["services"]["db"], doc["services"]["mlflow"]
    assert db["image"] == "postgres:15" and "ports" not in db  # the database stays inside
    assert server["build"]["dockerfile"] == "deploy/Dockerfile.mlflow"
    env = server["environment"]
    assert env["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg2://mlflow:")
    assert "${POSTGRES_PASSWORD}" in env["MLFLOW_BACKEND_STORE_URI"]  # no password in the file
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == "/mlartifacts"
    assert {v.split(":")[1] for v in server["volumes"]} == {"/mlartifacts"}
    assert server["ports"] == ["127.0.0.1:5000:5000"]  # loopback on the host by default
    assert server["depends_on"]["db"]["condition"] == "service_healthy"
    text = (DEPLOY / "Dockerfile.mlflow").read_text()
    assert "psycopg2-binary==" in text and "mlflow-server.sh" in text


def test_readme_covers_every_file() -> None:
    readme = (DEPLOY / "README.md").read_text()
    for p in DEPLOY.iterdir():
        if p.name != "README.md" and not p.name.startswith("."):
            assert f"`{p.name}`" in readme, f"deploy/README.md does not mention {p.name}"
    for needle in ("RAY_AUTH_MODE=token", "ray job submit", "--working-dir", "127.0.0.1"):
        assert needle in readme
