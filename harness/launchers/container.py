"""A plugin shipped as a container image, run the way its DaemonSet (or NVIDIA's guide) runs it.

Through testcontainers-python, one container per start, as the kubelet makes a new container
for each restart. The container gets what a plugin process gets from every launcher:

- the scenario's socket dir at ``/var/lib/kubelet/device-plugins`` (or where a manifest's
  hostPath volume of that dir is mounted), and the scenario's private dir at its own path, so
  ``{socket_dir}``, ``{nvml}`` and ``config:`` files mean the same inside;
- the simulated node as its NVML: the shim as ``libnvidia-ml.so.1`` with ``FAKE_NVML_SOCKET``
  when :mod:`fake_nvml.shim` is there, else ``DP_NVML=connect:<node socket>`` (our plugin only);
- faked device nodes (``/dev/nvidia<minor>``, ``nvidiactl``, ``nvidia-uvm``...);
- the scenario's folder and its parent, read-only at their own paths;
- the DaemonSet's security options (no-new-privileges, every capability dropped) and no network.

Output lines become ``"plugin"`` ``log`` events; the exit code an ``exit`` event, with a signal
as a negative code (``-9`` after ``kill``), as for processes. A container is removed as soon as
it has exited and been read; :mod:`harness.engine`'s reaper removes what an
interrupted run leaves.
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any

from fake_nvml import shim
from harness.engine import access as engine
from harness.engine.spec import DEVICE_PLUGIN_DIR, ContainerSpec, Mount
from harness.launchers.base import STOP_TIMEOUT_S, LaunchSpec, SignalledLauncher, Unavailable, simulated_only
from harness.templating import PlainValues, render_argv
from simkit import ObservationLog

SHIM_TARGET = "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"  # where the NVIDIA toolkit puts it
CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")

_names = itertools.count(1)


def placeholders(spec: LaunchSpec, plugin_dir: str = DEVICE_PLUGIN_DIR) -> dict[str, str]:
    """What a command line's placeholders mean inside the container (the image's Python)."""
    return {
        "socket_dir": plugin_dir,
        "kubelet_socket": f"{plugin_dir}/kubelet.sock",
        "nvml": spec.nvml_endpoint,  # the scenario's dir is mounted at its own path
        "python": "python3",
        "scenario_dir": spec.scenario_dir,
    }


def container_spec(spec: LaunchSpec) -> tuple[ContainerSpec, Any]:
    """The container for a launch, and the manifest it comes from (None for a plain image).

    From ``spec.manifest`` as the kubelet would run it, with the scenario's args appended and
    its env on top (``--plugin-image`` replaces the manifest's image); else ``spec.image``,
    ``spec.command`` (rendered; it replaces the image's entrypoint) and ``spec.args``.
    """
    if spec.manifest:
        from harness.errors import ScenarioError
        from harness.manifests.plugin import plugin_container

        try:
            manifest = plugin_container(spec.manifest, image=spec.image or None)
        except ScenarioError as exc:
            raise ValueError(f"cannot run the plugin manifest: {exc}") from None
        made = manifest.container
        if spec.args:
            made.args = [*(made.args or []), *spec.args]
        made.env = {**made.env, **spec.env}
        return made, manifest
    command = (
        render_argv(spec.command, PlainValues(placeholders(spec), spec.resolver)) if spec.command else None
    )
    return ContainerSpec(spec.image, command=command, args=list(spec.args) or None, env=dict(spec.env)), None


def node_socket(spec: LaunchSpec) -> str:
    return spec.nvml_endpoint.removeprefix("connect:")


def fake_device_nodes(folder: str, minors: list[int]) -> list[Mount]:
    """Empty files standing for the GPUs' device nodes, mounted where the driver would make them."""
    os.makedirs(folder, exist_ok=True)
    mounts = []
    for name in [f"nvidia{m}" for m in minors] + list(CONTROL_NODES):
        path = os.path.join(folder, name)
        open(path, "a").close()
        mounts.append(Mount(path, f"/dev/{name}"))
    return mounts


class ContainerLauncher(SignalledLauncher):
    """Runs :class:`ContainerSpec` in a fresh container per start; stop = SIGTERM, SIGKILL after 10 s."""

    real_nvml = False  # the container gets the NVML shim's socket, never the machine's GPUs

    def __init__(self, spec: LaunchSpec, log: ObservationLog) -> None:
        if spec.nvml_endpoint == "real":
            raise Unavailable(simulated_only("container"))
        reason = engine.engine_support()
        if reason:
            raise Unavailable(reason)
        super().__init__(spec, log)
        self.container_spec, self.manifest = container_spec(spec)
        # The pod's terminationGracePeriodSeconds, else the subprocess launcher's 10 s.
        if self.manifest is not None and self.manifest.grace_s is not None:
            self.grace_s = self.manifest.grace_s
        if self.manifest is not None:
            self._check_manifest(spec.extra.get("node"))
        self.image = self._resolve_image(self.container_spec.image)
        self._container: Any = None  # the testcontainers DockerContainer of the current start
        self._sent: set[int] = set()
        self._shim: str | None = None  # the shim's path once asked for; '' where it cannot be built

    # -- the image and the container's world ------------------------------------------------
    def shim_library(self) -> str:
        """The NVML shim's path on this machine, or '' (said once in the log) where it cannot be built."""
        if self._shim is None:
            try:
                self._shim = shim.library_path()
            except shim.ShimUnavailable as exc:
                self._line(f"the plugin gets no NVML shim: {exc}", level="harness")
                self._shim = ""
        return self._shim

    def _check_manifest(self, node: Any) -> None:
        """Say what the manifest asks that is not honoured; refuse a pod the node would not take."""
        from harness.manifests.plugin import describe
        from harness.scheduling import admit

        self.log.append("harness", "manifest", **describe(self.manifest))
        if node is not None and (refusal := admit(self.manifest.placement, node)) is not None:
            raise ValueError(
                f"the {self.manifest.kind}'s pod would not run on this node ({refusal.by}): {refusal.message}"
            )

    def _resolve_image(self, reference: str) -> str:
        from harness.image import RootfsError, ensure, is_ours

        if not reference:
            raise ValueError("the container launcher needs an image: give plugin.image or --plugin-image")
        client = engine.client()
        if is_ours(reference):
            try:
                return ensure(client, log=lambda line: self._line(line, level="harness"))
            except RootfsError as exc:
                raise Unavailable(f"cannot assemble our plugin's image here: {exc}") from None
        import docker.errors

        try:
            client.images.get(reference)
        except docker.errors.ImageNotFound:
            try:
                client.images.pull(reference)
            except docker.errors.APIError as exc:
                raise ValueError(
                    f"the image {reference!r} is not on this machine and cannot be pulled: {exc.explanation}"
                ) from None
        except docker.errors.APIError as exc:  # a reference the engine cannot parse (400)
            raise ValueError(f"the engine refuses the image {reference!r}: {exc.explanation}") from None
        return reference

    def mounts(self) -> list[Mount]:
        spec, made = self.spec, self.container_spec
        tmp = os.path.dirname(spec.socket_dir.rstrip("/"))
        out = [Mount(spec.socket_dir, made.plugin_dir, read_only=False), Mount(tmp, tmp, read_only=False)]
        if spec.scenario_dir:
            parent = os.path.dirname(spec.scenario_dir.rstrip("/"))
            out.append(Mount(parent, parent))
        library = self.shim_library()
        if library:
            out.append(Mount(library, SHIM_TARGET))
        minors = [g.minor for g in getattr(spec.nvml, "gpus", [])]
        out += fake_device_nodes(os.path.join(tmp, "devnodes"), minors)
        for index, target in enumerate(self.manifest.empty_dirs if self.manifest is not None else []):
            folder = os.path.join(tmp, f"emptydir{index}")
            os.makedirs(folder, exist_ok=True)
            out.append(Mount(folder, target, read_only=False))
        return [*out, *made.mounts]

    def environment(self) -> dict[str, str]:
        env = dict(self.container_spec.env)
        if self.shim_library():
            env.setdefault("FAKE_NVML_SOCKET", node_socket(self.spec))
        else:
            env.setdefault("DP_NVML", self.spec.nvml_endpoint)
        return env

    def _options(self) -> dict[str, Any]:
        made = self.container_spec
        security = ["no-new-privileges"] if made.no_new_privileges else []
        if made.seccomp == "Unconfined":
            security.append("seccomp=unconfined")
        options: dict[str, Any] = {
            "labels": engine.labels(self.spec.name),
            "network_mode": "none",
            "cap_drop": made.cap_drop or None,
            "cap_add": made.cap_add or None,
            "security_opt": security or None,
            "privileged": made.privileged,
            "read_only": made.read_only_rootfs,
            "user": made.user,
            "working_dir": made.working_dir,
            "entrypoint": made.command,
            "nano_cpus": made.nano_cpus,
            "mem_limit": made.mem_bytes,
        }
        return {k: v for k, v in options.items() if v is not None}

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._container is not None and self.exit_code is None

    def start(self) -> None:
        if self.running:
            return
        from testcontainers.core.config import testcontainers_config
        from testcontainers.core.container import DockerContainer

        # Ryuk's image cannot be pulled without a registry; engine.ensure_reaper does its job.
        testcontainers_config.ryuk_disabled = True
        engine.ensure_reaper()
        made = self.container_spec
        container = DockerContainer(
            self.image, docker_client_kw={"timeout": int(engine.API_TIMEOUT_S)}, env=self.environment()
        )
        container.with_name(f"harness-{engine.SESSION[:8]}-{next(_names)}")
        if made.args is not None:
            container.with_command(made.args)
        for mount in self.mounts():
            container.with_volume_mapping(mount.source, mount.target, "ro" if mount.read_only else "rw")
        container.with_kwargs(**self._options())
        self._sent = set()
        self._started(image=self.image, command=made.command, args=made.args, launcher="ContainerLauncher")
        try:
            container.start()
        except Exception as exc:
            self._line(f"cannot start the container: {_explain(exc)}", level="ERROR")
            self._remove(container)
            self._exited(_start_failure_code(exc))
            return
        self._container = container
        wrapped = container.get_wrapped_container()
        self._reader = threading.Thread(
            target=self._read, args=(container, wrapped), name="plugin-container-output", daemon=True
        )
        self._reader.start()

    def _read(self, container: Any, wrapped: Any) -> None:
        pending = b""
        try:
            for chunk in wrapped.logs(stream=True, follow=True, stdout=True, stderr=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._line(line.decode(errors="replace").rstrip("\r"))
            if pending:
                self._line(pending.decode(errors="replace"))
            raw = int(wrapped.wait(timeout=int(engine.API_TIMEOUT_S))["StatusCode"])
        except Exception as exc:  # the engine went away: the container is as good as dead
            self._line(f"lost the container: {_explain(exc)}", level="harness")
            raw = 137
        code = -(raw - 128) if raw > 128 and (raw - 128) in self._sent else raw
        if container is self._container:
            self._exited(code, engine_code=raw)
        self._remove(container)

    def _signal(self, sig: int) -> None:
        if not self.running:
            return
        self._sent.add(sig)
        try:
            self._container.get_wrapped_container().kill(signal=int(sig))
        except Exception as exc:  # it exited meanwhile (409) or is gone (404)
            if getattr(getattr(exc, "response", None), "status_code", 0) not in (404, 409):
                self._line(f"cannot signal the container: {_explain(exc)}", level="harness")

    def close(self) -> None:
        if self.running:
            self.kill()
        self._join(STOP_TIMEOUT_S)
        if self._container is not None:
            self._remove(self._container)

    @staticmethod
    def _remove(container: Any) -> None:
        try:
            container.stop(force=True, delete_volume=True)  # testcontainers: remove, volumes too
        except Exception:  # already removed (by the reader, or by the reaper)
            pass


def _explain(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip().splitlines()[0][:300] if str(explanation or exc) else repr(exc)


def _start_failure_code(exc: BaseException) -> int:
    """The status ``docker run`` exits with for the same failure: 127 no command, 126 not runnable, 125."""
    text = str(getattr(exc, "explanation", None) or exc)
    if "executable file not found" in text or "no such file or directory" in text:
        return 127
    if "permission denied" in text:
        return 126
    return 125
