"""The field names of KubeRay's ``ray.io/v1`` RayCluster and RayJob, for checking the manifests
in ``deploy/`` without a Kubernetes API server (no network in CI).

Source: ray-project/kuberay, ``ray-operator/apis/ray/v1/raycluster_types.go`` (commit
3275ee09f6a6c899c37e82ea6349785536de6bd4) and ``ray-operator/apis/ray/v1/rayjob_types.go``
(commit f6ef3f7b32639dc6555797512d7cb784bd436901): the json tags of ``RayClusterSpec``,
``HeadGroupSpec``, ``WorkerGroupSpec``, ``RayJobSpec``, ``SubmitterConfig``; these generate
``ray-operator/config/crd/bases/ray.io_rayclusters.yaml`` / ``ray.io_rayjobs.yaml``.
A field is *required* where its json tag has no ``omitempty`` and no ``+optional`` marker
(``rayStartParams`` became optional in later releases; required here, which is stricter).
``authOptions`` (``AuthOptions.mode``: ``disabled`` | ``token``) came with KubeRay v1.5.1
(its release notes; the KubeRay API reference, https://ray-project.github.io/kuberay/reference/api/),
``deletionStrategy`` later (Ray's RayJob quick start, ray-project/ray#58306).
The pod template is Kubernetes' own ``PodTemplateSpec``: only the parts used here are listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Schema:
    required: frozenset[str]
    optional: frozenset[str]
    children: Mapping[str, Schema] = field(default_factory=dict)
    """Field -> schema of its value (or of each item where the value is a list)."""
    free: frozenset[str] = frozenset()
    """Fields whose value is a free-form map (rayStartParams, labels...): not descended into."""

    @property
    def allowed(self) -> frozenset[str]:
        return self.required | self.optional


def _s(
    required: str = "",
    optional: str = "",
    children: Mapping[str, Schema] | None = None,
    free: str = "",
) -> Schema:
    return Schema(
        frozenset(required.split()),
        frozenset(optional.split()) | frozenset(free.split()),
        dict(children or {}),
        frozenset(free.split()),
    )


CONTAINER = _s(
    required="name image",
    optional="command args env envFrom resources ports volumeMounts imagePullPolicy "
    "securityContext lifecycle livenessProbe readinessProbe workingDir",
    children={"resources": _s(optional="requests limits", free="requests limits")},
)
POD_SPEC = _s(
    required="containers",
    optional="initContainers volumes tolerations nodeSelector affinity serviceAccountName "
    "imagePullSecrets securityContext priorityClassName restartPolicy",
    children={"containers": CONTAINER},
)
POD_TEMPLATE = _s(required="spec", optional="metadata", children={"spec": POD_SPEC})

AUTH_OPTIONS = _s(optional="mode")
AUTH_MODES = frozenset({"disabled", "token"})

HEAD_GROUP_SPEC = _s(
    required="template rayStartParams",
    optional="headService enableIngress serviceType",
    children={"template": POD_TEMPLATE},
    free="rayStartParams",
)
WORKER_GROUP_SPEC = _s(
    required="groupName minReplicas maxReplicas rayStartParams template",
    optional="suspend replicas idleTimeoutSeconds scaleStrategy numOfHosts",
    children={"template": POD_TEMPLATE},
    free="rayStartParams",
)
RAY_CLUSTER_SPEC = _s(
    required="headGroupSpec",
    optional="suspend managedBy autoscalerOptions headServiceAnnotations "
    "enableInTreeAutoscaling gcsFaultToleranceOptions rayVersion workerGroupSpecs authOptions",
    children={
        "headGroupSpec": HEAD_GROUP_SPEC,
        "workerGroupSpecs": WORKER_GROUP_SPEC,
        "authOptions": AUTH_OPTIONS,
    },
)
RAY_JOB_SPEC = _s(
    optional="activeDeadlineSeconds backoffLimit rayClusterSpec submitterPodTemplate metadata "
    "clusterSelector submitterConfig managedBy deletionPolicy deletionStrategy entrypoint "
    "runtimeEnvYAML jobId submissionMode entrypointResources entrypointNumCpus "
    "entrypointNumGpus ttlSecondsAfterFinished shutdownAfterJobFinishes suspend",
    children={
        "rayClusterSpec": RAY_CLUSTER_SPEC,
        "submitterConfig": _s(optional="backoffLimit"),
    },
)
METADATA = _s(required="name", optional="namespace", free="labels annotations")


def resource(kind: str) -> Schema:
    spec = {"RayCluster": RAY_CLUSTER_SPEC, "RayJob": RAY_JOB_SPEC}[kind]
    return _s(
        required="apiVersion kind metadata spec", children={"metadata": METADATA, "spec": spec}
    )


def violations(doc: Any, schema: Schema, path: str = "") -> list[str]:
    """Every missing required field and every unknown field in ``doc``, as ``a.b[0].c`` paths."""
    if not isinstance(doc, Mapping):
        return [f"{path or '<root>'}: expected a mapping, got {type(doc).__name__}"]
    found: list[str] = []
    for name in sorted(schema.required - doc.keys()):
        found.append(f"{path}.{name}: required field missing".lstrip("."))
    for name in sorted(doc.keys() - schema.allowed):
        found.append(f"{path}.{name}: not a field of this object".lstrip("."))
    for name, child in schema.children.items():
        if name not in doc or name in schema.free:
            continue
        value = doc[name]
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            where = f"{path}.{name}" + (f"[{i}]" if isinstance(value, list) else "")
            found += violations(item, child, where.lstrip("."))
    return found
