"""One Job per GPU node, stamped from the fleet manifest: when every node must run, by name.

``deploy/nightly-fleet.yaml`` is an Indexed Job whose pods the scheduler spreads over GPU nodes
(one per node, by pod anti-affinity): as many runs as completions, on whichever nodes have room.
When each named node must be tested (a new pool, a driver roll-out), this stamps that Job once per
node instead, pinned by node affinity on ``kubernetes.io/hostname``; the scheduler still decides
when each runs. The template stays the one source of the pod (image, runtime class, volumes).
"""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

HOSTNAME = "kubernetes.io/hostname"
NODE_LABEL = "gpu-plugin-conformance/node"
MAX_NAME = 63  # a Job's name becomes a label value of its pods


class JobsError(ValueError):
    """The template is not a Job we can stamp; the message names the file and what is wrong."""


def template_job(path: Path) -> dict[str, Any]:
    """The Job document of ``path`` (other documents, such as its volume claim, are left out)."""
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    except (OSError, yaml.YAMLError) as exc:
        raise JobsError(f"{path}: cannot read it as YAML: {exc}") from None
    jobs = [d for d in docs if isinstance(d, dict) and d.get("kind") == "Job"]
    if len(jobs) != 1:
        raise JobsError(f"{path}: expected exactly one 'kind: Job' document, found {len(jobs)}")
    job = jobs[0]
    if not isinstance(job.get("spec", {}).get("template", {}).get("spec"), dict):
        raise JobsError(f"{path}: the Job has no spec.template.spec")
    return job


def _job_name(base: str, node: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", node.lower()).strip("-")
    name = f"{base}-{slug}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(node.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9].rstrip('-')}-{digest}"


def per_node(job: dict[str, Any], nodes: list[str]) -> list[dict[str, Any]]:
    """``job`` once per node: a single completion, pinned to the node, named and labelled after it."""
    out = []
    for node in nodes:
        one = copy.deepcopy(job)
        meta = one.setdefault("metadata", {})
        meta["name"] = _job_name(meta.get("name", "gpu-plugin-conformance"), node)
        meta.setdefault("labels", {})[NODE_LABEL] = node[:MAX_NAME]
        spec = one["spec"]
        for key in ("completionMode", "completions", "parallelism"):
            spec.pop(key, None)
        pod = spec["template"]
        pod.setdefault("metadata", {}).setdefault("labels", {})[NODE_LABEL] = node[:MAX_NAME]
        affinity = pod["spec"].setdefault("affinity", {})
        affinity.pop("podAntiAffinity", None)  # one Job per node needs no spreading
        affinity["nodeAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": HOSTNAME, "operator": "In", "values": [node]}]}
                ]
            }
        }
        out.append(one)
    return out


def nodes_from(lines: list[str]) -> list[str]:
    """Node names from ``kubectl get nodes -o name`` output (``node/NAME``) or plain names."""
    names = [line.strip().removeprefix("node/") for line in lines]
    return [n for n in names if n and not n.startswith("#")]


def render(jobs: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(jobs, sort_keys=False, width=110)
