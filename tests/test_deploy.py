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
    assert {"gpu-device-plugin.yaml", "nightly-cronjob.yaml", "gpu-pod.yaml"} <= names
