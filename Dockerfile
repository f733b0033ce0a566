# The harness image for the nightly run on GPU nodes (`dp-harness nightly run`; docs/nightly.md),
# for clusters whose builds can pull python:3.12-slim. Where no registry is reachable, the same
# image is assembled from this machine's Python: `python -m harness.image build --recipe harness`
# (harness/image/recipes.py, HARNESS), which CI builds and smoke-checks.
#
# NVML itself (libnvidia-ml.so.1) is not in the image: NVIDIA's container runtime mounts the
# node's driver library into the container (runtimeClassName: nvidia; NVIDIA_DRIVER_CAPABILITIES
# =utility), so the image matches whatever driver the node runs. Nothing here talks to the node's
# kubelet: the harness runs its own fake kubelet on private sockets, and never touches
# /var/lib/kubelet.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=utility

WORKDIR /opt/harness
COPY pyproject.toml README.md conftest.py ./
COPY deviceplugin ./deviceplugin
COPY simkit ./simkit
COPY fake_nvml ./fake_nvml
COPY fake_kubelet ./fake_kubelet
COPY plugin ./plugin
COPY harness ./harness
COPY scenarios ./scenarios
# The smoke check runs at build time too (there is no NVML while building: it may be missing).
RUN pip install . && mkdir -p /results \
    && python -m harness nightly preflight --skip-without-nvml --results /results

# Results go to /results (mount a volume there): /results/<node>/<time>/ with the HTML reports,
# JUnit XML, allure results, the node's recording and the smoke check. `docker run IMAGE preflight`
# runs the smoke check alone; `merge /results` merges the nodes' runs into one report.
ENTRYPOINT ["python", "-m", "harness", "nightly"]
CMD ["run", "--results", "/results"]
