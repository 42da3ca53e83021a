"""The KubeRay manifests use only fields KubeRay's CRDs define, set every required one, and say
what perturbo needs: token auth, a GPU worker group, the images built from deploy/."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from kuberay_schema import AUTH_MODES, resource, violations

yaml = pytest.importorskip("yaml")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MANIFESTS = {"kuberay-raycluster.yaml": "RayCluster", "kuberay-rayjob.yaml": "RayJob"}
CPU_IMAGE = "registry.example.com/perturbo:0.1.0"
GPU_IMAGE = "registry.example.com/perturbo:0.1.0-cuda"


def _load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((DEPLOY / name).read_text())
    assert isinstance(doc, dict), name
    return doc


def _cluster_spec(name: str) -> dict[str, Any]:
    spec = _load(name)["spec"]
    return spec["rayClusterSpec"] if MANIFESTS[name] == "RayJob" else spec


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_fields_are_kuberay_crd_fields(name: str) -> None:
    doc = _load(name)
    assert (doc["apiVersion"], doc["kind"]) == ("ray.io/v1", MANIFESTS[name])
    assert violations(doc, resource(MANIFESTS[name])) == []


def test_the_checker_catches_typos_and_missing_fields() -> None:
    doc = _load("kuberay-raycluster.yaml")
    doc["spec"]["workerGroupSpecs"][0]["maxReplica"] = doc["spec"]["workerGroupSpecs"][0].pop(
        "maxReplicas"
    )
    del doc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"]
    assert violations(doc, resource("RayCluster")) == [
        "spec.headGroupSpec.template.spec.containers[0].image: required field missing",
        "spec.workerGroupSpecs[0].maxReplicas: required field missing",
        "spec.workerGroupSpecs[0].maxReplica: not a field of this object",
    ]


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_cluster_runs_what_perturbo_needs(name: str) -> None:
    spec = _cluster_spec(name)
    assert spec["rayVersion"] == "2.60.0"  # = the ray pin in pyproject.toml (test_dockerfiles)
    assert spec["authOptions"]["mode"] == "token" and spec["authOptions"]["mode"] in AUTH_MODES
    head = spec["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"  # the driver runs on the head, not trials
    (container,) = head["template"]["spec"]["containers"]
    assert container["image"] == CPU_IMAGE
    assert {p["containerPort"] for p in container["ports"]} == {6379, 8265, 10001}
    for v in head["rayStartParams"].values():
        assert isinstance(v, str), "rayStartParams is a map of strings"
    groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    assert set(groups) == {"cpu", "gpu"}
    for g in groups.values():
        assert 0 <= g["minReplicas"] <= g["replicas"] <= g["maxReplicas"]
        for c in g["template"]["spec"]["containers"]:
            res = c["resources"]
            assert res["requests"]["cpu"] == res["limits"]["cpu"]
    (gpu,) = groups["gpu"]["template"]["spec"]["containers"]
    assert gpu["image"] == GPU_IMAGE
    # Kubernetes: extended resources must be in limits (requests, if given, equal them).
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] >= 1
    assert gpu["resources"]["requests"].get("nvidia.com/gpu") in (
        None,
        gpu["resources"]["limits"]["nvidia.com/gpu"],
    )
    (cpu,) = groups["cpu"]["template"]["spec"]["containers"]
    assert cpu["image"] == CPU_IMAGE and "nvidia.com/gpu" not in cpu["resources"]["limits"]


def test_rayjob_entrypoint_is_a_perturbo_command() -> None:
    spec = _load("kuberay-rayjob.yaml")["spec"]
    argv = shlex.split(spec["entrypoint"])
    assert argv[:3] == ["perturbo", "run", "genetic"]
    assert argv[argv.index("--address") + 1] == "auto"  # join the RayJob's cluster
    assert argv[argv.index("--tracking-uri") + 1].startswith("http://")
    assert "--no-progress" in argv  # a job log is no terminal
    runtime_env = yaml.safe_load(spec["runtimeEnvYAML"])
    assert runtime_env["env_vars"]["OMP_NUM_THREADS"] == "1"
    assert not any("TOKEN" in k or "KEY" in k for k in runtime_env["env_vars"]), (
        "secrets in a runtime env are stored with the job"
    )
    assert spec["shutdownAfterJobFinishes"] is True


def test_entrypoint_flags_exist() -> None:
    """Every flag of the RayJob's entrypoint is a flag of `perturbo run genetic`."""
    from perturbo.cli import build_parser

    argv = shlex.split(_load("kuberay-rayjob.yaml")["spec"]["entrypoint"])[1:]
    build_parser().parse_args(argv)  # SystemExit(2) on an unknown flag
