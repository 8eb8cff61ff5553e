"""deploy/k8s: generated from one table, and valid against the Kubernetes schemas.

The validator is ``kubernetes-validate`` from PyPI, which bundles the schemas of each
Kubernetes release: it reads no network. ``strict`` refuses a field the schema does not
know, so a misspelt key fails here instead of being dropped by the API server.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S = REPO_ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
"""The oldest release still maintained when these were written; newer ones accept them too."""


def load_render() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chainwatch_deploy_k8s", K8S / "render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


RENDER = load_render()


def documents() -> list[dict[str, Any]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for chunk in path.read_text().split("\n---\n")[1:]:
            found.append(json.loads(chunk))
    return found


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def test_the_committed_manifests_are_what_render_writes() -> None:
    for name, text in RENDER.files().items():
        assert (K8S / name).read_text() == text, f"run: python deploy/k8s/render.py ({name})"


@pytest.mark.parametrize("version", [KUBERNETES_VERSION, kubernetes_validate.latest_version()])
def test_every_manifest_validates_strictly(version: str) -> None:
    docs = documents()
    assert len(docs) > 30

    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_refuses_a_misspelt_field_and_a_wrong_type() -> None:
    deployment = by_kind("Deployment")["scorer"]
    misspelt = json.loads(json.dumps(deployment))
    misspelt["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    wrong_type = json.loads(json.dumps(deployment))
    wrong_type["spec"]["replicas"] = "two"

    for broken in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_service_has_a_deployment_probed_on_healthz_and_readyz() -> None:
    services = {p.parent.name for p in (REPO_ROOT / "services").glob("*/pyproject.toml")}
    deployments = by_kind("Deployment")

    assert services <= set(deployments)
    for name in services:
        [container] = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["resources"]["requests"]["cpu"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        pod = deployments[name]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True


def test_the_scorer_and_explainer_scale_on_cpu_and_consumer_lag() -> None:
    autoscalers = by_kind("HorizontalPodAutoscaler")

    assert set(autoscalers) == {"scorer", "explainer"}
    for name, hpa in autoscalers.items():
        kinds = {m["type"]: m for m in hpa["spec"]["metrics"]}
        assert kinds["Resource"]["resource"]["name"] == "cpu"
        lag = kinds["External"]["external"]["metric"]
        assert lag["name"] == "chainwatch_consumer_pending_messages"
        assert lag["selector"]["matchLabels"]["durable"] == name


def test_secrets_hold_placeholders_only() -> None:
    for secret in by_kind("Secret").values():
        values = set(secret.get("stringData", {}).values()) | set(secret.get("data", {}).values())
        assert values == {RENDER.PLACEHOLDER}, secret["metadata"]["name"]


def test_every_nats_user_has_a_password_secret(repo_root: Path) -> None:
    accounts = (repo_root / "deploy" / "nats" / "accounts.conf").read_text()
    server = by_kind("Secret")["chainwatch-nats-server"]["stringData"]

    for line in accounts.splitlines():
        if "password: $" in line:
            assert line.split("$")[1].strip(" }") in server


def test_the_network_denies_by_default_and_each_service_reaches_only_its_servers() -> None:
    policies = by_kind("NetworkPolicy")
    deny = policies["default-deny"]["spec"]

    assert deny["podSelector"] == {"matchLabels": {}}, "every pod of the namespace"
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    for service in RENDER.SERVICES:
        egress = policies[service.name]["spec"]["egress"]
        servers = {
            rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
            for rule in egress
            if "podSelector" in rule["to"][0]
        }
        expected = {"nats"}
        expected |= {"postgres"} if service.postgres else set()
        expected |= {"minio"} if service.s3 else set()
        assert servers == expected, service.name
        internet = [rule for rule in egress if "ipBlock" in rule["to"][0]]
        assert bool(internet) == service.internet, service.name


def test_the_nats_cluster_runs_the_checked_configuration(repo_root: Path) -> None:
    config = by_kind("ConfigMap")["nats-config"]["data"]
    statefulset = by_kind("StatefulSet")["nats"]

    assert config["nats-server.conf"] == (repo_root / "deploy/nats/nats-cluster.conf").read_text()
    assert config["accounts.conf"] == (repo_root / "deploy/nats/accounts.conf").read_text()
    assert statefulset["spec"]["replicas"] == 3
    assert statefulset["spec"]["serviceName"] == "nats-headless"
