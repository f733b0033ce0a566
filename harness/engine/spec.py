"""What to run in a container: an image, the kubelet's command/args/env, mounts and security."""

from __future__ import annotations

from dataclasses import dataclass, field

DEVICE_PLUGIN_DIR = "/var/lib/kubelet/device-plugins"


@dataclass
class Mount:
    source: str  # on this machine
    target: str  # in the container
    read_only: bool = True


@dataclass
class ContainerSpec:
    """What to run: an image, the kubelet's command/args/env, and the container's security options.

    The defaults are those of NVIDIA's guide and static DaemonSet: ``--security-opt
    no-new-privileges --cap-drop ALL`` (``allowPrivilegeEscalation: false``, ``drop: [ALL]``).
    """

    image: str
    command: list[str] | None = None  # replaces the image's ENTRYPOINT (Kubernetes: command)
    args: list[str] | None = None  # replaces its CMD (Kubernetes: args)
    env: dict[str, str] = field(default_factory=dict)
    plugin_dir: str = DEVICE_PLUGIN_DIR  # where the scenario's socket dir appears
    mounts: list[Mount] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=lambda: ["ALL"])
    cap_add: list[str] = field(default_factory=list)
    no_new_privileges: bool = True
    privileged: bool = False
    read_only_rootfs: bool = False
    user: str | None = None
    working_dir: str | None = None
    seccomp: str = "RuntimeDefault"  # the engine's profile; a pod's default is Unconfined
    nano_cpus: int | None = None  # resources.limits.cpu
    mem_bytes: int | None = None  # resources.limits.memory
