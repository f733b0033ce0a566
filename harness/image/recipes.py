"""What each image we assemble holds and how it runs: our plugin's, and the nightly harness's.

Both are built the same way (:mod:`harness.image.rootfs`, :mod:`harness.image.build`): this
machine's interpreter and the installed libraries, no base image, no registry. A recipe says
which of our packages go in, which installed distributions, which folders of the checkout, and
the entrypoint; its fields are part of the content key, so changing one makes a new image.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_ENV = (
    ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ("PYTHONUNBUFFERED", "1"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
    ("LANG", "C.UTF-8"),
)


@dataclass(frozen=True)
class Recipe:
    """One image: what goes in, and how a container of it runs."""

    repository: str
    packages: tuple[str, ...]  # our packages, importable from site-packages
    distributions: tuple[str, ...]  # installed distributions (their requirements follow)
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = BASE_ENV
    workdir: str = "/"
    package_data: tuple[str, ...] = (".py", ".proto")  # which files of our packages go in
    trees: tuple[tuple[str, str], ...] = ()  # (folder of the checkout, where it goes in the image)
    folders: tuple[str, ...] = ()  # empty folders the run writes to (mount points)
    host_files: tuple[str, ...] = ()  # files copied from this machine when it has them


#: Our plugin, as NVIDIA's image runs its own: the entrypoint is the plugin, flags come as arguments.
PLUGIN = Recipe(
    repository="localhost/gpu-device-plugin",
    packages=("plugin", "deviceplugin", "fake_nvml", "simkit"),
    distributions=("grpcio", "protobuf", "PyYAML", "nvidia-ml-py", "inotify_simple"),
    entrypoint=("python3", "-m", "plugin"),
)

#: The nightly run on a GPU node: the harness, the scenario library, its reports. NVML is not in
#: it: NVIDIA's container runtime mounts the node's libnvidia-ml.so.1 and runs ldconfig over the
#: image (hence ld.so.conf from this machine, which names the multiarch library folder).
HARNESS = Recipe(
    repository="localhost/gpu-plugin-harness",
    packages=("harness", "plugin", "deviceplugin", "fake_nvml", "fake_kubelet", "simkit"),
    distributions=("grpcio", "protobuf", "PyYAML", "nvidia-ml-py", "inotify_simple", "Jinja2"),
    entrypoint=("python3", "-m", "harness", "nightly"),
    cmd=("run",),
    env=(*BASE_ENV, ("NVIDIA_VISIBLE_DEVICES", "all"), ("NVIDIA_DRIVER_CAPABILITIES", "utility")),
    workdir="/opt/harness",
    package_data=(".py", ".proto", ".yaml", ".j2", ".css", ".js", ".c", ".h"),
    trees=(("scenarios", "/opt/harness/scenarios"),),
    folders=("/results",),
    host_files=("/etc/ld.so.conf", "/etc/ld.so.conf.d"),
)

RECIPES = {"plugin": PLUGIN, "harness": HARNESS}
