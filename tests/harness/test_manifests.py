"""Manifests read field by field: the plugin container as the kubelet runs it, pods to admit, and
every field the harness does not honour named, with the line it is on."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.manifests.plugin import expand, plugin_container
from harness.manifests.pods import read_pod
from harness.scheduling import KubeNode, admit

ROOT = Path(__file__).resolve().parents[2]

# Shaped as NVIDIA's deployments/static/nvidia-device-plugin.yml (v0.20.0), field for field.
NVIDIA_SHAPED = textwrap.dedent(
    """
    apiVersion: apps/v1
    kind: DaemonSet
    metadata:
      name: nvidia-device-plugin-daemonset
      namespace: kube-system
    spec:
      selector:
        matchLabels:
          name: nvidia-device-plugin-ds
      updateStrategy:
        type: RollingUpdate
      template:
        metadata:
          labels:
            name: nvidia-device-plugin-ds
        spec:
          tolerations:
          - key: nvidia.com/gpu
            operator: Exists
            effect: NoSchedule
          priorityClassName: "system-node-critical"
          containers:
          - image: nvcr.io/nvidia/k8s-device-plugin:v0.20.0
            name: nvidia-device-plugin-ctr
            env: []
            securityContext:
              allowPrivilegeEscalation: false
              capabilities:
                drop: ["ALL"]
            volumeMounts:
            - name: kubelet-device-plugins-dir
              mountPath: /var/lib/kubelet/device-plugins
          volumes:
          - name: kubelet-device-plugins-dir
            hostPath:
              path: /var/lib/kubelet/device-plugins
              type: Directory
"""
).lstrip()


@pytest.fixture
def manifest(tmp_path: Path):
    def write(text: str, name: str = "m.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


def test_nvidias_static_daemonset_runs_its_container_as_the_kubelet_would(manifest):
    read = plugin_container(manifest(NVIDIA_SHAPED))
    made = read.container
    assert (read.kind, read.pod, read.container_name) == (
        "DaemonSet",
        "nvidia-device-plugin-ds"[:0] or read.pod,
        "nvidia-device-plugin-ctr",
    )
    assert made.image == "nvcr.io/nvidia/k8s-device-plugin:v0.20.0"
    assert made.command is None and made.args is None and made.env == {}
    assert made.cap_drop == ["ALL"] and made.no_new_privileges and not made.privileged
    assert made.plugin_dir == "/var/lib/kubelet/device-plugins"
    assert made.seccomp == "Unconfined"  # the kubelet's default for a pod that names no profile
    assert read.grace_s == 30.0


def test_each_field_it_cannot_honour_is_named_with_its_line_and_why(manifest):
    notes = plugin_container(manifest(NVIDIA_SHAPED)).notes
    assert [(n.path, n.loc.line) for n in notes] == [
        ("spec.selector", 7),
        ("spec.updateStrategy", 10),
        ("spec.template.spec.priorityClassName", 21),
    ]
    assert "no preemption" in notes[2].why


def test_an_unknown_field_is_named_not_dropped(manifest):
    text = NVIDIA_SHAPED.replace("        env: []", "        env: []\n        debugMode: true")
    notes = plugin_container(manifest(text)).notes
    unknown = [n for n in notes if n.path.endswith("debugMode")]
    assert unknown and unknown[0].path == "spec.template.spec.containers[0].debugMode"
    assert unknown[0].why == "not a field the harness knows; it is not honoured"


def test_a_daemonset_pod_that_does_not_tolerate_the_gpu_taint_would_not_run_on_the_node(manifest):
    text = NVIDIA_SHAPED.replace("operator: Exists", "operator: Equal\n        value: present")
    read = plugin_container(manifest(text))
    refusal = admit(read.placement, KubeNode.make(4, {}, None))
    assert refusal is not None and "untolerated taint" in refusal.message
    # The DaemonSet controller's own tolerations (not-ready, unschedulable, ...) are there.
    assert (
        admit(read.placement, KubeNode.make(4, {}, ["node.kubernetes.io/unschedulable:NoSchedule"])) is None
    )


def test_command_args_and_env_are_expanded_as_the_kubelet_does(manifest):
    text = NVIDIA_SHAPED.replace(
        "        env: []",
        """        command: [nvidia-device-plugin]
        args: ["--mig-strategy=$(STRATEGY)", "$$(KEPT)", "$(UNDEFINED)"]
        env:
        - {name: STRATEGY, value: mixed}
        - {name: BOTH, value: "$(STRATEGY)-x"}
        - name: NODE_NAME
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}""",
    )
    read = plugin_container(manifest(text))
    made = read.container
    assert made.command == ["nvidia-device-plugin"]
    assert made.args == ["--mig-strategy=mixed", "$(KEPT)", "$(UNDEFINED)"]
    assert made.env == {"STRATEGY": "mixed", "BOTH": "mixed-x", "NODE_NAME": "sim-node"}
    assert [n.path for n in read.notes if "env" in n.path] == [
        "spec.template.spec.containers[0].env[3].valueFrom.fieldRef.fieldPath"
    ]


def test_privileged_and_the_security_context_options_are_honoured(manifest):
    text = NVIDIA_SHAPED.replace(
        """          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]""",
        """          privileged: true
          readOnlyRootFilesystem: true
          runAsUser: 1000
          runAsGroup: 1000
          capabilities: {add: [SYS_ADMIN]}
          seccompProfile: {type: RuntimeDefault}""",
    )
    made = plugin_container(manifest(text)).container
    assert made.privileged and made.read_only_rootfs and not made.no_new_privileges
    assert made.user == "1000:1000" and made.cap_add == ["SYS_ADMIN"] and made.cap_drop == []
    assert made.seccomp == "RuntimeDefault"


def test_run_as_non_root_with_a_root_user_is_refused_as_the_kubelet_refuses_it(manifest):
    text = NVIDIA_SHAPED.replace("          allowPrivilegeEscalation: false", "          runAsNonRoot: true")
    with pytest.raises(ScenarioError, match=r"m.yaml:\d+:\d+: runAsNonRoot is set"):
        plugin_container(manifest(text))


def test_the_plugin_container_is_the_one_mounting_the_device_plugins_dir(manifest):
    text = NVIDIA_SHAPED.replace(
        "      containers:\n",
        "      containers:\n      - {name: sidecar, image: busybox}\n",
    )
    read = plugin_container(manifest(text))
    assert read.container_name == "nvidia-device-plugin-ctr"
    assert "spec.template.spec.containers[0]" in [n.path for n in read.notes]


def test_other_documents_of_the_file_are_named(manifest):
    text = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: plugin}\n---\n" + textwrap.dedent(
        NVIDIA_SHAPED
    )
    notes = plugin_container(manifest(text)).notes
    assert str(notes[0]).startswith("ServiceAccount plugin (line 1): not a workload")


def test_a_manifest_without_a_workload_says_what_it_has(manifest):
    with pytest.raises(
        ScenarioError, match=r"no DaemonSet / Deployment / Pod .* in this manifest \(it has: ConfigMap\)"
    ):
        plugin_container(manifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"))


def test_a_yaml_error_points_at_the_line(manifest):
    with pytest.raises(ScenarioError, match=r"m.yaml:\d+:\d+: YAML syntax error"):
        plugin_container(manifest("kind: Pod\nspec: [a, {\n"))


GPU_POD = """
    apiVersion: v1
    kind: Pod
    metadata: {name: gpu-pod}
    spec:
      restartPolicy: Never
      initContainers:
      - name: warmup
        image: busybox
        resources: {limits: {nvidia.com/gpu: 2}}
      - name: monitor
        image: busybox
        restartPolicy: Always
        resources: {limits: {nvidia.com/gpu: 1}}
      containers:
      - name: cuda-container
        image: nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0
        resources:
          limits: {nvidia.com/gpu: 1, cpu: 500m, memory: 1Gi}
          requests: {nvidia.com/gpu: 1}
      tolerations:
      - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
"""


def test_a_pod_brings_its_extended_limits_init_containers_and_sidecars(manifest):
    made = read_pod(manifest(GPU_POD))
    pod = made.pod
    assert [(c.name, c.limits, c.restartable) for c in pod.init_containers] == [
        ("warmup", {"nvidia.com/gpu": 2}, False),
        ("monitor", {"nvidia.com/gpu": 1}, True),
    ]
    assert [(c.name, c.limits) for c in pod.containers] == [("cuda-container", {"nvidia.com/gpu": 1})]
    assert pod.request("nvidia.com/gpu") == 2  # max(init 2, app 1 + sidecar 1)
    assert admit(made.placement, KubeNode.make(4, {}, None)) is None
    assert [n.path for n in made.notes] == [
        "spec.containers[0].resources.limits.cpu",
        "spec.containers[0].resources.limits.memory",
    ]


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (
            "limits: {nvidia.com/gpu: 500m}",
            'limits[nvidia.com/gpu]: Invalid value: "500m": must be an integer',
        ),
        ("requests: {nvidia.com/gpu: 1}", "limits: Required value: Limit must be set for non overcommitable"),
        (
            "{limits: {nvidia.com/gpu: 2}, requests: {nvidia.com/gpu: 1}}",
            'requests[nvidia.com/gpu]: Invalid value: "1": must be equal to nvidia.com/gpu limit of 2',
        ),
    ],
)
def test_invalid_extended_resources_are_refused_as_the_api_server_refuses_them(manifest, resources, message):
    text = f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: p}}
        spec:
          containers:
          - name: c
            resources: {resources if resources.startswith("{") else "{" + resources + "}"}
    """
    made = read_pod(manifest(text))
    assert made.invalid.startswith('The Pod "p" is invalid: spec.containers[0].resources.')
    assert message in made.invalid


def test_a_deployments_and_a_jobs_pod_template_are_admitted(manifest):
    for kind, at in (("Deployment", "spec"), ("Job", "spec")):
        text = f"""
            apiVersion: apps/v1
            kind: {kind}
            metadata: {{name: trainer}}
            {at}:
              template:
                metadata: {{name: trainer-pod}}
                spec:
                  containers: [{{name: main, resources: {{limits: {{nvidia.com/gpu: 3}}}}}}]
        """
        made = read_pod(manifest(text, f"{kind}.yaml"))
        assert made.name == "trainer-pod" and made.pod.request("nvidia.com/gpu") == 3


def test_expand_leaves_unknown_references_and_unescapes_dollars():
    assert expand("$(A)/$(B)/$$(A)/$$", {"A": "x"}) == "x/$(B)/$(A)/$"


def test_our_daemonset_reads_with_nothing_unknown():
    notes = plugin_container(ROOT / "deploy" / "gpu-device-plugin.yaml").notes
    assert all("not a field the harness knows" not in n.why for n in notes)
