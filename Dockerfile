# The harness image for the nightly run on GPU nodes: `pytest scenarios/ --nvml real`.
#
# NVML itself (libnvidia-ml.so.1) is not in the image: the NVIDIA container toolkit mounts the
# node's driver library into the container (NVIDIA_DRIVER_CAPABILITIES=utility), so the image
# matches whatever driver the node runs. Nothing here talks to the node's kubelet: the harness
# runs its own fake kubelet on private sockets, and never touches /var/lib/kubelet.
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
RUN pip install '.[test]' && mkdir -p /results

# Results go to /results (mount a volume there): the HTML/SVG reports, JUnit XML and allure results.
ENTRYPOINT ["pytest", "scenarios/", "--nvml", "real", "-p", "no:cacheprovider", \
            "--reports-dir", "/results/reports", "--alluredir", "/results/allure-results", \
            "--junitxml", "/results/junit.xml"]
