"""Write the Kubernetes manifests of chainwatch (deploy/k8s/*.yaml) from one table of services.

    .venv/bin/python deploy/k8s/render.py

A test fails when the committed files differ from what this writes, and validates them against
the Kubernetes schemas bundled with ``kubernetes-validate`` (no network). docs/operations.md
explains the choices: one Deployment per service, probes on /healthz and /readyz, resources
from docs/benchmarks.md, autoscaling of the scorer and explainer on CPU and on consumer lag,
a default-deny network with each service allowed only the servers it uses, and Secrets whose
values are placeholders to replace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAMESPACE = "chainwatch"
IMAGE = "ghcr.io/example/chainwatch-{service}:0.1.0"
"""Replace with your registry; images are built by services/<service>/Dockerfile."""
PLACEHOLDER = "REPLACE-ME"
"""Every secret value in secrets.yaml; the services refuse placeholders where they can."""
MONITORING_NAMESPACE = "monitoring"
INGRESS_NAMESPACE = "ingress-nginx"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Service:
    name: str
    port: int = 8080
    port_env: str = ""
    nats: bool = True
    postgres: bool = False
    s3: bool = False
    data: bool = False
    internet: bool = False
    """HTTPS out (Claude for narratives; mempool.space for ingest's live source)."""
    replicas: int = 1
    autoscale: tuple[str, str] | None = None
    """(stream, durable) whose pending messages scale it, beside CPU."""
    cpu: str = "100m"
    memory: str = "256Mi"
    cpu_limit: str = "1"
    memory_limit: str = "512Mi"
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()

    @property
    def health_port_env(self) -> str:
        return self.port_env or f"CHAINWATCH_{self.name.upper()}_HEALTH_PORT"


# Requests follow the sizing guide (docs/benchmarks.md): the scorer sustains about 1,000
# decisions/s per core at under 200 MiB; the others are light unless they train.
SERVICES = (
    Service(
        "ingest", data=True, internet=True, cpu="100m", memory="192Mi",
        env=(("CHAINWATCH_INGEST_MODE", "live"),),
    ),
    Service(
        "scorer", postgres=True, s3=True, data=True, replicas=2,
        autoscale=("CHAINWATCH_TX_RAW", "scorer"),
        cpu="500m", memory="320Mi", cpu_limit="1", memory_limit="768Mi",
    ),
    Service(
        "explainer", postgres=True, s3=True, internet=True, replicas=1,
        autoscale=("CHAINWATCH_TX_SCORED", "explainer"),
        cpu="250m", memory="512Mi", cpu_limit="1", memory_limit="1Gi",
    ),
    Service(
        "dashboard", port=8000, port_env="CHAINWATCH_DASHBOARD_PORT", postgres=True, s3=True,
        replicas=2, cpu="100m", memory="256Mi",
    ),
    Service("learner", s3=True, cpu="100m", memory="256Mi"),
    Service("drift", postgres=True, s3=True, cpu="200m", memory="384Mi"),
    Service(
        "trainer", postgres=True, s3=True, data=True, args=("serve",),
        cpu="1", memory="2Gi", cpu_limit="2", memory_limit="6Gi",
        env=(("DAGSTER_HOME", "/var/lib/dagster"), ("DAGSTER_DISABLE_TELEMETRY", "1")),
    ),
    Service(
        "fees", s3=True, data=True, cpu="250m", memory="768Mi", memory_limit="2Gi",
        env=(("CHAINWATCH_FEES_TRAIN_IF_MISSING", "true"),),
    ),
    Service(
        "onboarding", postgres=True, s3=True, data=True, internet=True, cpu="100m",
        memory="384Mi", memory_limit="1Gi",
        env=(("CHAINWATCH_ONBOARDING_TRAIN_IF_MISSING", "true"),),
    ),
    Service("lightning", data=True, cpu="250m", memory="512Mi", memory_limit="2Gi"),
)  # fmt: skip

NATS_USERS = ("admin", *(s.name for s in SERVICES), "integrator")


def labels(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "chainwatch", "app.kubernetes.io/component": component}


def selector(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/component": component}


def meta(name: str, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, "labels": labels(component)}


def secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def container_env(service: Service) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "CHAINWATCH_NATS_USER", "value": service.name},
        secret_env("CHAINWATCH_NATS_PASSWORD", "chainwatch-nats", service.name),
    ]
    if service.postgres:
        env.append(secret_env("DATABASE_URL", "chainwatch-database", "url"))
    if service.s3:
        env.append(
            secret_env("CHAINWATCH_REGISTRY_ACCESS_KEY_ID", "chainwatch-s3", "access-key-id")
        )
        env.append(
            secret_env(
                "CHAINWATCH_REGISTRY_SECRET_ACCESS_KEY", "chainwatch-s3", "secret-access-key"
            )
        )
    if service.name == "dashboard":
        env.append(
            secret_env("CHAINWATCH_DASHBOARD_SESSION_SECRET", "chainwatch-dashboard", "session")
        )
    if service.name in ("explainer", "onboarding"):
        key = secret_env("CHAINWATCH_EXPLAINER_CLAUDE_API_KEY", "chainwatch-claude", "api-key")
        key["valueFrom"]["secretKeyRef"]["optional"] = True
        env.append(key)
    if service.data:
        env.append({"name": "CHAINWATCH_DATA_DIR", "value": "/data"})
    env += [{"name": name, "value": value} for name, value in service.env]
    return env


def deployment(service: Service) -> dict[str, Any]:
    probe = {"httpGet": {"port": "health"}, "periodSeconds": 10, "timeoutSeconds": 3}
    # S108: the path inside the container, where an emptyDir is mounted for the service alone.
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    if service.data:
        mounts.append({"name": "data", "mountPath": "/data", "readOnly": True})
        volumes.append(
            {
                "name": "data",
                "persistentVolumeClaim": {"claimName": "chainwatch-data", "readOnly": True},
            }
        )
    if service.name == "trainer":
        mounts.append({"name": "dagster", "mountPath": "/var/lib/dagster"})
        volumes.append(
            {"name": "dagster", "persistentVolumeClaim": {"claimName": "chainwatch-dagster"}}
        )
    container: dict[str, Any] = {
        "name": service.name,
        "image": IMAGE.format(service=service.name),
        "args": list(service.args),
        "ports": [{"name": "health", "containerPort": service.port}],
        "envFrom": [{"configMapRef": {"name": "chainwatch-config"}}],
        "env": container_env(service),
        "livenessProbe": {**probe, "httpGet": {"path": "/healthz", "port": "health"}},
        "readinessProbe": {**probe, "httpGet": {"path": "/readyz", "port": "health"}},
        "startupProbe": {
            "httpGet": {"path": "/healthz", "port": "health"},
            "periodSeconds": 5,
            "failureThreshold": 36,
        },
        "resources": {
            "requests": {"cpu": service.cpu, "memory": service.memory},
            "limits": {"cpu": service.cpu_limit, "memory": service.memory_limit},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    if not container["args"]:
        del container["args"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(service.name, service.name),
        "spec": {
            "replicas": service.replicas,
            "selector": {"matchLabels": selector(service.name)},
            "strategy": {"type": "Recreate"}
            if service.name == "trainer"
            else {"type": "RollingUpdate"},
            "template": {
                "metadata": {
                    "labels": labels(service.name),
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(service.port),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def k8s_service(service: Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(service.name, service.name),
        "spec": {
            "selector": selector(service.name),
            "ports": [{"name": "http", "port": service.port, "targetPort": "health"}],
        },
    }


def autoscaler(service: Service) -> dict[str, Any]:
    assert service.autoscale is not None
    stream, durable = service.autoscale
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(service.name, service.name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name},
            "minReplicas": service.replicas,
            "maxReplicas": 8,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                },
                # Served by the Prometheus Adapter's external-metrics rule in
                # docs/operations.md, from the gauge every replica exports.
                {
                    "type": "External",
                    "external": {
                        "metric": {
                            "name": "chainwatch_consumer_pending_messages",
                            "selector": {"matchLabels": {"stream": stream, "durable": durable}},
                        },
                        "target": {"type": "AverageValue", "averageValue": "2000"},
                    },
                },
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def policy(name: str, component: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels("network")},
        "spec": {"podSelector": {"matchLabels": component}, **spec},
    }


def to_pods(component: str, port: int) -> dict[str, Any]:
    return {
        "to": [{"podSelector": {"matchLabels": selector(component)}}],
        "ports": [{"protocol": "TCP", "port": port}],
    }


def from_namespace(namespace: str, port: int | str) -> dict[str, Any]:
    return {
        "from": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
        ],
        "ports": [{"protocol": "TCP", "port": port}],
    }


def network_policies() -> list[dict[str, Any]]:
    policies = [
        policy("default-deny", {}, {"policyTypes": ["Ingress", "Egress"]}),
        policy(
            "dns",
            {},
            {
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "ports": [
                            {"protocol": "UDP", "port": 53},
                            {"protocol": "TCP", "port": 53},
                        ]
                    }
                ],
            },
        ),
    ]
    for service in SERVICES:
        egress = [to_pods("nats", 4222)] if service.nats else []
        if service.postgres:
            egress.append(to_pods("postgres", 5432))
        if service.s3:
            egress.append(to_pods("minio", 9000))
        if service.internet:
            egress.append(
                {
                    "to": [
                        {
                            "ipBlock": {
                                "cidr": "0.0.0.0/0",
                                "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                            }
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 443}],
                }
            )
        ingress = [from_namespace(MONITORING_NAMESPACE, service.port)]
        if service.name == "dashboard":
            ingress.append(from_namespace(INGRESS_NAMESPACE, service.port))
        policies.append(
            policy(
                service.name,
                selector(service.name),
                {"policyTypes": ["Ingress", "Egress"], "ingress": ingress, "egress": egress},
            )
        )

    def clients(flag: str) -> list[dict[str, Any]]:
        return [
            {"podSelector": {"matchLabels": selector(s.name)}} for s in SERVICES if getattr(s, flag)
        ]

    nats_peers = {"podSelector": {"matchLabels": selector("nats")}}
    policies += [
        policy(
            "nats",
            selector("nats"),
            {
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {"from": clients("nats"), "ports": [{"protocol": "TCP", "port": 4222}]},
                    {"from": [nats_peers], "ports": [{"protocol": "TCP", "port": 6222}]},
                    from_namespace(MONITORING_NAMESPACE, 8222),
                ],
                "egress": [{"to": [nats_peers], "ports": [{"protocol": "TCP", "port": 6222}]}],
            },
        ),
        policy(
            "postgres",
            selector("postgres"),
            {
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {"from": clients("postgres"), "ports": [{"protocol": "TCP", "port": 5432}]}
                ],
                "egress": [],
            },
        ),
        policy(
            "minio",
            selector("minio"),
            {
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": clients("s3"), "ports": [{"protocol": "TCP", "port": 9000}]}],
                "egress": [],
            },
        ),
    ]
    return policies


def secrets() -> list[dict[str, Any]]:
    def secret(name: str, keys: list[str], component: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta(name, component),
            "type": "Opaque",
            "stringData": {key: PLACEHOLDER for key in keys},
        }

    nats_env = {f"CHAINWATCH_NATS_{user.upper()}_PASSWORD" for user in NATS_USERS}
    return [
        secret("chainwatch-nats", list(NATS_USERS), "nats"),
        secret("chainwatch-nats-server", sorted(nats_env), "nats"),
        secret("chainwatch-database", ["url", "password"], "postgres"),
        secret("chainwatch-s3", ["access-key-id", "secret-access-key"], "minio"),
        secret("chainwatch-dashboard", ["session"], "dashboard"),
        secret("chainwatch-claude", ["api-key"], "explainer"),
    ]


def config_map() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("chainwatch-config", "config"),
        "data": {
            "CHAINWATCH_NATS_URL": ",".join(
                f"nats://nats-{n}.nats-headless:4222" for n in range(3)
            ),
            "CHAINWATCH_LOG_FORMAT": "json",
            "CHAINWATCH_REGISTRY_BACKEND": "s3",
            "CHAINWATCH_REGISTRY_BUCKET": "chainwatch-models",
            "CHAINWATCH_REGISTRY_ENDPOINT_URL": "http://minio:9000",
        },
    }


def dump(documents: list[dict[str, Any]]) -> str:
    """YAML as JSON documents: every JSON document is YAML, and nothing is left to quoting."""
    header = "# Generated by deploy/k8s/render.py; edit that file, not this one.\n"
    return header + "".join(f"---\n{json.dumps(d, indent=2)}\n" for d in documents)


def files() -> dict[str, str]:
    nats_conf = (HERE.parent / "nats" / "nats-cluster.conf").read_text()
    accounts_conf = (HERE.parent / "nats" / "accounts.conf").read_text()
    return {
        "namespace.yaml": dump(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}]
        ),
        "config.yaml": dump([config_map()]),
        "secrets.yaml": dump(secrets()),
        "services.yaml": dump(
            [doc for s in SERVICES for doc in (deployment(s), k8s_service(s))]
            + [autoscaler(s) for s in SERVICES if s.autoscale]
        ),
        "network-policies.yaml": dump(network_policies()),
        "nats.yaml": dump(nats_manifests(nats_conf, accounts_conf)),
        "stores.yaml": dump(store_manifests()),
    }


def nats_manifests(nats_conf: str, accounts_conf: str) -> list[dict[str, Any]]:
    env = [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta("nats-config", "nats"),
            "data": {"nats-server.conf": nats_conf, "accounts.conf": accounts_conf},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("nats-headless", "nats"),
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
                "selector": selector("nats"),
                "ports": [
                    {"name": "client", "port": 4222},
                    {"name": "cluster", "port": 6222},
                    {"name": "monitor", "port": 8222},
                ],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": meta("nats", "nats"),
            "spec": {
                "serviceName": "nats-headless",
                "replicas": 3,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": selector("nats")},
                "template": {
                    "metadata": {"labels": labels("nats")},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 1000,
                            "fsGroup": 1000,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "nats",
                                "image": "nats:2.15-alpine",
                                "args": ["--config", "/etc/nats/nats-server.conf"],
                                "ports": [
                                    {"name": "client", "containerPort": 4222},
                                    {"name": "cluster", "containerPort": 6222},
                                    {"name": "monitor", "containerPort": 8222},
                                ],
                                "env": env,
                                "envFrom": [{"secretRef": {"name": "chainwatch-nats-server"}}],
                                "livenessProbe": {
                                    "httpGet": {
                                        "path": "/healthz?js-enabled-only=true",
                                        "port": "monitor",
                                    }
                                },
                                "readinessProbe": {
                                    "httpGet": {"path": "/healthz", "port": "monitor"}
                                },
                                "resources": {
                                    "requests": {"cpu": "250m", "memory": "512Mi"},
                                    "limits": {"cpu": "2", "memory": "2Gi"},
                                },
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "volumeMounts": [
                                    {"name": "config", "mountPath": "/etc/nats"},
                                    {"name": "data", "mountPath": "/data"},
                                ],
                            }
                        ],
                        "volumes": [{"name": "config", "configMap": {"name": "nats-config"}}],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "20Gi"}},
                        },
                    }
                ],
            },
        },
    ]


def store_manifests() -> list[dict[str, Any]]:
    """The data every service reads (labels, recordings) and the trainer's Dagster instance.

    PostgreSQL and the S3 store are expected as managed services, reached through Services
    named ``postgres`` and ``minio`` (an ExternalName or a proxy labelled as below), so the
    network policies can name them; docs/operations.md says how.
    """
    claims = [
        ("chainwatch-data", "ReadOnlyMany", "10Gi"),
        ("chainwatch-dagster", "ReadWriteOnce", "5Gi"),
    ]
    return [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": meta(name, "storage"),
            "spec": {"accessModes": [mode], "resources": {"requests": {"storage": size}}},
        }
        for name, mode, size in claims
    ]


def main() -> None:
    for name, text in files().items():
        (HERE / name).write_text(text)


if __name__ == "__main__":
    main()
