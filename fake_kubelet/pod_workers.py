"""What happens to admitted pods: containers start, restart and stop; pods end or are deleted.

A container start runs GetDeviceRunContainerOptions (PreStartContainer when the plugin
asks for it, a lazy re-allocation when the container has no cached devices). After a
kubelet restart or a node reboot the kubelet admits its active pods again; a container
that still runs keeps its devices, one that does not goes through the device checks
again. Pods that ended (Succeeded or Failed) are not admitted again.
"""

from __future__ import annotations

from typing import Any

from fake_kubelet.admission import PodAdmitter
from fake_kubelet.errors import AdmissionError
from fake_kubelet.events import SOURCE
from fake_kubelet.manager import DeviceManager
from fake_kubelet.pod_manager import FAILED, SUCCEEDED, PodManager, PodRecord
from fake_kubelet.pods import Admission, ContainerStart, Pod
from fake_kubelet.run_options import RunOptions


class PodWorkers:
    """Starts and stops the containers of admitted pods; ends, deletes and re-admits pods."""

    def __init__(
        self, manager: DeviceManager, admitter: PodAdmitter, run_options: RunOptions, pods: PodManager
    ) -> None:
        self.manager = manager
        self.admitter = admitter
        self.run_options = run_options
        self.pods = pods

    def record(self, pod: str | Pod) -> PodRecord:
        name = pod.name if isinstance(pod, Pod) else pod
        record = self.pods.get(name)
        if record is None or not record.active:
            known = sorted(r.pod.name for r in self.pods.active())
            raise KeyError(f"pod {name!r} is not admitted on this kubelet; admitted pods: {known}")
        return record

    def start_container(self, pod: str | Pod, container: str) -> ContainerStart:
        """Start (or restart) a container: PreStartContainer when required, then its run options."""
        with self.admitter.lock:
            record = self.record(pod)
            spec = record.pod.container(container)
            restart_count = record.starts.get(container, 0)
            record.starts[container] = restart_count + 1
            error = None
            options: dict[str, Any] = {}
            try:
                options = self.run_options.for_container(
                    record.pod, spec, container in record.running, self.admitter.hint(record.pod, container)
                )
            except AdmissionError as failure:
                error = str(failure)
            if error is None:
                record.running.add(container)
            else:
                record.running.discard(container)
            self.manager.log.append(
                SOURCE,
                "container_start",
                pod=record.pod.name,
                container=container,
                restart_count=restart_count,
                error=error,
            )
            return ContainerStart(record.pod.name, container, restart_count, error, options)

    def restart_container(self, pod: str | Pod, container: str) -> ContainerStart:
        """Restart a started container: the cached allocation is reused, PreStart runs again."""
        with self.admitter.lock:
            record = self.record(pod)
            if not record.starts.get(container):
                raise ValueError(f"container {container!r} of pod {record.pod.name!r} was never started")
            record.running.discard(container)
            return self.start_container(pod, container)

    def stop_container(self, pod: str | Pod, container: str) -> None:
        """The container exits (it waits for a restart): it keeps its devices but does not run."""
        with self.admitter.lock:
            record = self.record(pod)
            record.pod.container(container)
            record.running.discard(container)
            self.manager.log.append(SOURCE, "container_stop", pod=record.pod.name, container=container)

    def complete_pod(self, pod: str | Pod, phase: str = SUCCEEDED) -> None:
        """Every container ended (restartPolicy Never/OnFailure): the pod is terminal, not active."""
        if phase not in (SUCCEEDED, FAILED):
            raise ValueError(f"a pod completes as {SUCCEEDED} or {FAILED}, not {phase!r}")
        with self.admitter.lock:
            record = self.record(pod)
            record.phase, record.running = phase, set()
            self.admitter.free(record.pod)
            self.manager.write_checkpoint()
            self.manager.log.append(SOURCE, "pod_completed", pod=record.pod.name, phase=phase)

    def delete_pod(self, pod: str | Pod) -> None:
        """The pod is deleted. A running kubelet frees its devices at once; a stopped one finds
        them in its checkpoint and frees them once it runs again (pods deleted while it was down)."""
        name = pod.name if isinstance(pod, Pod) else pod
        with self.admitter.lock:
            record = self.pods.get(name)
            if record is None:
                raise KeyError(f"pod {name!r} is not known to this kubelet; pods: {self.names()}")
            self.pods.remove(name)
            serving = self.manager.serving
            if serving:
                self.admitter.free(record.pod)
                self.manager.write_checkpoint()
            self.manager.log.append(SOURCE, "pod_deleted", pod=name, kubelet_down=not serving)

    def readmit(self) -> list[Admission]:
        """After a (re)start: admit every active pod again, in the order they came."""
        with self.admitter.lock:
            admissions = [self.admitter.admit(r.pod, readmission=True) for r in self.pods.active()]
            self.admitter.collect_garbage()
            return admissions

    def stop_all_containers(self) -> None:
        """A node reboot: every container is gone (the pods stay on the API server)."""
        with self.admitter.lock:
            for record in self.pods.records():
                record.running = set()

    def names(self) -> list[str]:
        return sorted(r.pod.name for r in self.pods.active())
