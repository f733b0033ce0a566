"""The features a plugin profile may claim, and what claiming one promises (imports nothing of ours).

One table (:data:`FEATURES`): the profile validator checks claims against it, scenarios name
their needs from it (``requires: {features: [...]}`` on a case, ``requires: [...]`` on a step),
and ``docs/conformance.md`` lists it. A case or step whose feature the profile does not claim
is skipped with that reason, never failed: the library assumes nothing the profile does not
say. Features whose name starts with ``our-`` are our plugin's extensions (white-box cases).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    """One claim: its name, what it promises, and whose behaviour it is."""

    name: str
    promise: str
    origin: str  # "kubelet API", "NVIDIA plugin" or "ours"


KUBELET, NVIDIA, OURS = "kubelet API", "NVIDIA plugin", "ours"

_TABLE = [
    # What any device plugin may offer through the kubelet API.
    Feature(
        "fixed-endpoint",
        "registers its resource on a fixed socket file name, the profile's endpoint",
        KUBELET,
    ),
    Feature(
        "gpu-ids",
        "lists each whole GPU under its UUID (device_ids: uuid) or index (device_ids: index), "
        "so a scenario can say which device is which GPU",
        KUBELET,
    ),
    Feature("numa-topology", "ListAndWatch gives each GPU's NUMA node as its topology", KUBELET),
    Feature("no-prestart", "does not ask for PreStartContainer (pre_start_required: false)", KUBELET),
    Feature(
        "preferred-allocation",
        "advertises get_preferred_allocation_available and answers GetPreferredAllocation with "
        "exactly 'size' distinct available devices, must-include devices first",
        KUBELET,
    ),
    # NVIDIA's k8s-device-plugin: its health checks, flags, config file and error texts.
    Feature(
        "nvidia-resource-names",
        "serves NVIDIA's resource names: nvidia.com/gpu (what NVIDIA's example pods ask for)",
        NVIDIA,
    ),
    Feature("health-xid", "a critical XID makes exactly its GPU Unhealthy; application XIDs do not", NVIDIA),
    Feature(
        "health-nvml-errors",
        "NVML event errors mark devices Unhealthy as NVIDIA's health loop does (wait errors: all; "
        "a GPU's registration error: that GPU), and NotSupported events are only a warning",
        NVIDIA,
    ),
    Feature("health-env", "DP_DISABLE_HEALTHCHECKS / DP_ENABLE_HEALTHCHECKS as NVIDIA reads them", NVIDIA),
    Feature("visible-devices-env", "Allocate lists the devices in the profile's visible_devices env", NVIDIA),
    Feature("device-id-index", "--device-id-strategy uuid|index", NVIDIA),
    Feature("volume-mounts", "--device-list-strategy volume-mounts (/dev/null mounts per device)", NVIDIA),
    Feature("cdi", "--device-list-strategy cdi-annotations|cdi-cri and --cdi-annotation-prefix", NVIDIA),
    Feature("device-specs", "--pass-device-specs with --dev-root (DeviceSpecs for /dev/nvidia*)", NVIDIA),
    Feature("mig-single", "--mig-strategy single (MIG devices as the GPU resource, validated)", NVIDIA),
    Feature("mig-mixed", "--mig-strategy mixed (a nvidia.com/mig-<profile> resource per profile)", NVIDIA),
    Feature("mig-none", "--mig-strategy none exposes MIG-enabled GPUs whole", NVIDIA),
    Feature(
        "time-slicing",
        "config sharing.timeSlicing: replicas '<id>::<n>', renameByDefault, failRequestsGreaterThanOne",
        NVIDIA,
    ),
    Feature("shared-allocation-policy", "--shared-devices-allocation-policy distributed|packed", NVIDIA),
    Feature(
        "gpu-topology", "preferred allocations follow NVLink and PCIe topology (go-gpuallocator)", NVIDIA
    ),
    Feature(
        "config-file", "NVIDIA's config file (version v1), passed with the profile's config_flag", NVIDIA
    ),
    Feature("flags", "NVIDIA's flags and environment variables (names, values, precedence)", NVIDIA),
    Feature(
        "fail-on-init-error", "--fail-on-init-error: NVML init failure exits 1, or waits if false", NVIDIA
    ),
    Feature("kubelet-socket-flag", "--kubelet-socket (empty: serve but never register)", NVIDIA),
    Feature("tegra", "--device-discovery-strategy auto|tegra: the single 'tegra' device on Tegra", NVIDIA),
    Feature("imex", "--imex-channel-ids / --imex-required: IMEX channels in Allocate answers", NVIDIA),
    Feature("mps", "config sharing.mps with --mps-root: served once the MPS control daemon answers", NVIDIA),
    Feature("sighup", "SIGHUP rebuilds: stop, re-enumerate NVML, serve and register again", NVIDIA),
    Feature("nvidia-error-texts", "NVIDIA's error texts in Allocate / GetPreferredAllocation errors", NVIDIA),
    # Our plugin's extensions and vocabulary (docs/plugin.md).
    Feature("our-log-lines", "logs the event vocabulary of docs/plugin.md, 'Log format'", OURS),
    Feature("our-exit-codes", "usage and config errors exit 2, one line naming the value and source", OURS),
    Feature("our-health-recovery", "--health-recovery returns devices to Healthy when NVML answers", OURS),
    Feature("our-stream-recovery", "a lost ListAndWatch stream is noticed and registered again", OURS),
    Feature(
        "our-rebuild-keeps-serving",
        "a rebuild never exits (NVIDIA's plugin exits 1): a GPU lost meanwhile is served Unhealthy "
        "from the last inventory beside the others, another NVML failure is retried every 30 s",
        OURS,
    ),
    Feature(
        "our-numa-preference", "preferred allocations follow NUMA when PCIe topology is unsupported", OURS
    ),
    Feature(
        "our-device-checks",
        "DeviceSpecs only for nodes that exist under --dev-root (NVIDIA checks its own /dev for the "
        "optional control nodes)",
        OURS,
    ),
]

FEATURES: dict[str, Feature] = {f.name: f for f in _TABLE}


def is_ours(name: str) -> bool:
    """A feature only our plugin offers (white-box cases need one)."""
    return FEATURES[name].origin == OURS
