"""docker-compose.yml, validated and normalised by the real Compose v2 binary."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RunCompose = Callable[..., subprocess.CompletedProcess[str]]

PASSWORD = "test-password-not-used-anywhere"
NATS_USERS = re.findall(
    r"^\s+user: (\w+)$",
    (Path(__file__).resolve().parents[2] / "deploy/nats/accounts.conf").read_text(),
    re.MULTILINE,
)
NATS_PASSWORDS = {f"CHAINWATCH_NATS_{user.upper()}_PASSWORD": f"p{user}" for user in NATS_USERS}
REQUIRED_ENV = {
    "POSTGRES_PASSWORD": PASSWORD,
    "MINIO_ROOT_PASSWORD": "test-minio-password",
    "CHAINWATCH_DASHBOARD_SESSION_SECRET": "test-session-secret-" + "0" * 32,
    "CHAINWATCH_NATS_ADMIN_PASSWORD": "padmin",
    **NATS_PASSWORDS,
}


@pytest.fixture(scope="module")
def compose_file(repo_root: Path) -> Path:
    return repo_root / "docker-compose.yml"


@pytest.fixture(scope="module")
def config(run_compose: RunCompose) -> dict[str, Any]:
    """The compose file as Compose itself reads it: anchors merged, variables substituted."""
    result = run_compose("config", "--format", "json", env=REQUIRED_ENV)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def test_compose_file_is_valid(run_compose: RunCompose) -> None:
    result = run_compose("config", "--quiet", env=REQUIRED_ENV)

    assert result.returncode == 0, result.stderr


def test_validator_rejects_an_invalid_value(
    run_compose: RunCompose, compose_file: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "docker-compose.yml"
    text = compose_file.read_text().replace(
        "nats:\n        condition: service_healthy", "nats:\n        condition: healthy", 1
    )
    assert text != compose_file.read_text()
    broken.write_text(text)

    result = run_compose("config", "--quiet", env=REQUIRED_ENV, file=broken)

    assert result.returncode != 0
    assert "depends_on.nats.condition" in result.stderr


def test_validator_rejects_an_unknown_service_dependency(
    run_compose: RunCompose, compose_file: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(compose_file.read_text().replace("      postgres:\n", "      postgrs:\n", 1))

    result = run_compose("config", "--quiet", env=REQUIRED_ENV, file=broken)

    assert result.returncode != 0
    assert 'undefined service "postgrs"' in result.stderr


def test_no_database_password_is_written_in_the_file(run_compose: RunCompose) -> None:
    result = run_compose(
        "config", "--quiet", env={k: v for k, v in REQUIRED_ENV.items() if k != "POSTGRES_PASSWORD"}
    )

    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_the_password_reaches_postgres_and_the_database_url(config: dict[str, Any]) -> None:
    services = config["services"]

    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == PASSWORD
    for name in ("scorer", "dashboard"):
        url = services[name]["environment"]["DATABASE_URL"]
        assert url == f"postgresql://chainwatch:{PASSWORD}@postgres:5432/chainwatch"


def test_every_service_has_a_compose_entry_built_from_its_dockerfile(
    config: dict[str, Any], service: str, repo_root: Path
) -> None:
    entry = config["services"].get(service)

    assert entry is not None, f"docker-compose.yml has no service {service!r}"
    assert Path(entry["build"]["context"]) == repo_root
    assert entry["build"]["dockerfile"] == f"services/{service}/Dockerfile"
    assert entry["environment"]["CHAINWATCH_NATS_URL"] == "nats://nats:4222"
    assert entry["depends_on"]["nats"]["condition"] == "service_healthy"
    assert entry["read_only"] is True
    assert entry["cap_drop"] == ["ALL"]


def test_dependencies_wait_for_health_checks(config: dict[str, Any]) -> None:
    services = config["services"]

    for name, entry in services.items():
        for dependency, how in entry.get("depends_on", {}).items():
            if services[dependency].get("restart") == "no":  # a one-shot set-up step
                assert how["condition"] == "service_completed_successfully"
                continue
            assert how["condition"] == "service_healthy", f"{name} -> {dependency}"
            assert "healthcheck" in services[dependency], f"{dependency} has no health check"
    assert services["nats"]["healthcheck"]["test"][0] == "CMD"
    assert services["postgres"]["healthcheck"]["test"][0] == "CMD"


def test_state_lives_on_named_volumes(config: dict[str, Any]) -> None:
    def targets(name: str) -> dict[str, str]:
        return {v["target"]: v["source"] for v in config["services"][name]["volumes"]}

    assert targets("nats")["/data"] == "nats-data"
    assert targets("postgres")["/var/lib/postgresql/data"] == "postgres-data"
    assert targets("minio")["/data"] == "minio-data"
    assert set(config["volumes"]) == {"nats-data", "postgres-data", "minio-data", "dagster-home"}


def test_only_the_dashboard_is_published_and_only_on_loopback(config: dict[str, Any]) -> None:
    published = {
        name: entry["ports"] for name, entry in config["services"].items() if "ports" in entry
    }

    assert list(published) == ["dashboard"]
    [port] = published["dashboard"]
    assert port["host_ip"] == "127.0.0.1"
    assert port["target"] == 8000
    assert port["published"] == "8000"


def test_the_scorer_scales_by_replicas(run_compose: RunCompose) -> None:
    result = run_compose(
        "config", "--format", "json", env={**REQUIRED_ENV, "CHAINWATCH_SCORER_REPLICAS": "5"}
    )

    assert result.returncode == 0, result.stderr
    scorer = json.loads(result.stdout)["services"]["scorer"]
    assert scorer["deploy"]["replicas"] == 5
    assert "container_name" not in scorer and "ports" not in scorer


def test_nats_runs_the_checked_configuration_with_jetstream(
    config: dict[str, Any], repo_root: Path
) -> None:
    nats = config["services"]["nats"]
    [mounted] = [c for c in nats["configs"] if c["target"].endswith("nats-server.conf")]
    source = Path(config["configs"][mounted["source"]]["file"])

    assert source == repo_root / "deploy" / "nats" / "nats-server.conf"
    assert nats["command"] == ["--config", mounted["target"]]
    assert "jetstream" in source.read_text()


def test_each_service_connects_as_its_own_nats_user(config: dict[str, Any], service: str) -> None:
    environment = config["services"][service]["environment"]

    assert environment["CHAINWATCH_NATS_USER"] == service
    assert environment["CHAINWATCH_NATS_PASSWORD"] == f"p{service}"


def test_nats_gets_every_users_password_and_the_users_file(
    config: dict[str, Any], repo_root: Path
) -> None:
    nats = config["services"]["nats"]
    mounted = {c["target"]: config["configs"][c["source"]]["file"] for c in nats["configs"]}

    assert {k: v for k, v in nats["environment"].items() if k in NATS_PASSWORDS} == NATS_PASSWORDS
    assert set(NATS_PASSWORDS) <= set(nats["environment"])
    assert Path(mounted["/etc/chainwatch/accounts.conf"]) == repo_root / "deploy/nats/accounts.conf"


@pytest.mark.parametrize("variable", ["CHAINWATCH_NATS_SCORER_PASSWORD", "MINIO_ROOT_PASSWORD"])
def test_a_missing_secret_stops_compose(run_compose: RunCompose, variable: str) -> None:
    env = {k: v for k, v in REQUIRED_ENV.items() if k != variable}

    result = run_compose("config", "--quiet", env=env)

    assert result.returncode != 0
    assert variable in result.stderr


def test_models_live_in_the_s3_store(config: dict[str, Any]) -> None:
    services = config["services"]
    users = [
        name
        for name, entry in services.items()
        if "CHAINWATCH_REGISTRY_BACKEND" in entry.get("environment", {})
    ]

    assert {"scorer", "explainer", "learner", "drift", "trainer", "fees", "onboarding"} <= set(
        users
    )
    for name in users:
        environment = services[name]["environment"]
        assert environment["CHAINWATCH_REGISTRY_BACKEND"] == "s3"
        assert environment["CHAINWATCH_REGISTRY_ENDPOINT_URL"] == "http://minio:9000"
        assert environment["CHAINWATCH_REGISTRY_SECRET_ACCESS_KEY"] == "test-minio-password"
        assert services[name]["depends_on"]["minio-init"]["condition"] == (
            "service_completed_successfully"
        )
    assert "mb --ignore-existing store/chainwatch-models" in " ".join(
        services["minio-init"]["command"]
    )


def test_dagster_webserver_and_daemon_serve_the_trainer_code_location(
    config: dict[str, Any],
) -> None:
    webserver, daemon = config["services"]["trainer"], config["services"]["trainer-daemon"]

    assert webserver["entrypoint"][0] == "dagster-webserver"
    assert daemon["entrypoint"] == ["dagster-daemon", "run"]
    for entry in (webserver, daemon):
        assert entry["command"] == ["-m", "chainwatch.trainer.definitions"]
        assert entry["image"] == webserver["image"]
        assert entry["environment"]["DAGSTER_HOME"] == "/var/lib/dagster"
        assert {v["source"] for v in entry["volumes"]} >= {"dagster-home"}
