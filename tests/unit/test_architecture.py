"""The dependency rule is enforced: import-linter breaks on a framework import in the core."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "application", "adapters", "entrypoints")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(  # noqa: S603 - our own tool on our own copy
        [str(lint), "--config", str(project / "pyproject.toml"), "--no-cache"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_as_committed_keeps_every_contract(project_copy: Path) -> None:
    result = lint_imports(project_copy)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("module", "statement"),
    [
        ("domain/tasks.py", "import litestar"),
        ("application/tasks.py", "import sqlalchemy"),
        ("domain/users.py", "from application import ports"),
        ("application/auth.py", "from adapters import system"),
    ],
)
def test_a_forbidden_import_breaks_the_build(
    project_copy: Path, module: str, statement: str
) -> None:
    path = project_copy / module
    path.write_text(path.read_text() + f"\n{statement}  # injected by the test\n")
    result = lint_imports(project_copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
