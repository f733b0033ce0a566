"""The Kubernetes manifests we ship (deploy/, the scenario library's pods) are valid Kubernetes.

kubernetes-validate checks them offline against the API's own OpenAPI schemas for a release, in
strict mode: an unknown field, a wrong type or a missing required field fails, as
``kubectl apply --validate=strict`` would.
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES = "1.35.0"  # the newest release the fake kubelet models
MANIFESTS = sorted(
    [*ROOT.glob("deploy/*.yaml"), *ROOT.glob("scenarios/**/_pods/*.yaml")], key=lambda p: str(p)
)


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_manifest_we_ship_is_valid_kubernetes(path: Path) -> None:
    for doc in documents(path):
        try:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path) or "(top)"
            pytest.fail(f"{path.relative_to(ROOT)}: {doc.get('kind')} {where}: {exc.message}")


def test_the_check_fails_on_an_unknown_field() -> None:
    doc = documents(ROOT / "deploy" / "gpu-device-plugin.yaml")[0]
    doc["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="securityContex"):
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_there_are_manifests_to_check() -> None:
    names = {p.name for p in MANIFESTS}
    assert {"gpu-device-plugin.yaml", "nightly-cronjob.yaml", "nightly-fleet.yaml", "gpu-pod.yaml"} <= names


# -- the nightly manifests: what they must say, beyond being valid ----------------------------------
NIGHTLY = ["nightly-cronjob.yaml", "nightly-fleet.yaml"]


def pod_spec(doc: dict) -> dict:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def workload(name: str) -> dict:
    (doc,) = [d for d in documents(ROOT / "deploy" / name) if d["kind"] in ("CronJob", "Job")]
    return doc


@pytest.mark.parametrize("name", NIGHTLY)
def test_a_nightly_pod_gets_nvidias_runtime_and_every_gpu_of_its_node(name: str) -> None:
    pod = pod_spec(workload(name))
    assert pod["runtimeClassName"] == "nvidia"  # else NVML never reaches the pod where it is not the default
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["NVIDIA_VISIBLE_DEVICES"]["value"] == "all"
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert "nvidia.com/gpu" not in container["resources"].get("limits", {})  # a count would cap it
    assert not [v for v in pod.get("volumes", []) if "hostPath" in v]  # never the node's kubelet sockets


@pytest.mark.parametrize("name", [*NIGHTLY, "nightly-merge-job.yaml"])
def test_the_nightly_manifests_args_are_a_command_line_the_image_takes(name: str) -> None:
    """The image's entrypoint is `python -m harness nightly`: the args must parse as its steps."""
    from harness.cli import parser

    (container,) = pod_spec(workload(name))["containers"]
    args = parser().parse_args(["nightly", *container["args"]])
    assert args.nightly in ("run", "merge")


def test_the_fleet_job_spreads_one_pod_per_gpu_node_and_writes_one_shared_volume() -> None:
    job = workload("nightly-fleet.yaml")
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == job["spec"]["parallelism"]
    pod = pod_spec(job)
    (term,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == {"batch.kubernetes.io/job-name": job["metadata"]["name"]}
    (claim,) = [
        d for d in documents(ROOT / "deploy" / "nightly-fleet.yaml") if d["kind"] == "PersistentVolumeClaim"
    ]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    merge = pod_spec(workload("nightly-merge-job.yaml"))
    assert merge["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_one_job_per_node_is_valid_pinned_to_its_node_and_named_after_it() -> None:
    from harness.nightly.jobs import per_node, template_job

    nodes = ["gpu-a", "gke-pool-1-a9f0.example.internal", "x" * 80]
    jobs = per_node(template_job(ROOT / "deploy" / "nightly-fleet.yaml"), nodes)
    names = [j["metadata"]["name"] for j in jobs]
    assert len(set(names)) == 3 and all(len(n) <= 63 for n in names)
    for node, job in zip(nodes, jobs, strict=True):
        kubernetes_validate.validate(job, KUBERNETES, strict=True)
        assert "completionMode" not in job["spec"] and "completions" not in job["spec"]
        affinity = pod_spec(job)["affinity"]
        assert "podAntiAffinity" not in affinity
        (term,) = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ]
        assert term["matchExpressions"] == [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
        ]
