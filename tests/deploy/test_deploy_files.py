"""The deploy files parse and say what they must (they cannot run here: no Docker, no k8s)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _load(name: str) -> dict:
    doc = yaml.safe_load((DEPLOY / name).read_text())
    assert isinstance(doc, dict), f"{name} is not a YAML mapping"
    return doc


def test_raycluster() -> None:
    doc = _load("kuberay-raycluster.yaml")
    assert (doc["apiVersion"], doc["kind"]) == ("ray.io/v1", "RayCluster")
    spec = doc["spec"]
    assert spec["rayVersion"] == "2.60.0" and spec["authOptions"]["mode"] == "token"
    head = spec["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert {p["containerPort"] for p in head["ports"]} == {6379, 8265, 10001}
    for group in spec["workerGroupSpecs"]:
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]


def test_rayjob() -> None:
    doc = _load("kuberay-rayjob.yaml")
    assert (doc["apiVersion"], doc["kind"]) == ("ray.io/v1", "RayJob")
    spec = doc["spec"]
    assert spec["entrypoint"].startswith("perturbo run ")
    assert "--address auto" in spec["entrypoint"] and "--tracking-uri" in spec["entrypoint"]
    assert yaml.safe_load(spec["runtimeEnvYAML"])["env_vars"]["OMP_NUM_THREADS"] == "1"
    assert spec["rayClusterSpec"]["authOptions"]["mode"] == "token"


def test_cluster_launcher() -> None:
    doc = _load("cluster.yaml")
    assert doc["head_node_type"] in doc["available_node_types"]
    assert doc["available_node_types"][doc["head_node_type"]]["resources"] == {"CPU": 0}
    assert any("RAY_AUTH_MODE=token" in o for o in doc["docker"]["run_options"])


def test_dockerfile_installs_torch_first() -> None:
    lines = [ln for ln in (DEPLOY / "Dockerfile").read_text().splitlines() if ln.startswith("RUN")]
    pip = [ln for ln in lines if "pip install" in ln]
    assert "torch==2.13.0" in pip[0] and "whl/cpu" in pip[0]


def test_mlflow_server_script() -> None:
    text = (DEPLOY / "mlflow-server.sh").read_text()
    assert 'HOST="${MLFLOW_HOST:-127.0.0.1}"' in text
    assert "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false" in text and "sqlite:///" in text
    subprocess.run(["bash", "-n", str(DEPLOY / "mlflow-server.sh")], check=True)
