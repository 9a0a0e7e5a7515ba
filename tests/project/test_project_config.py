"""The project's own pytest and ruff settings accept a user's ordinary test module, such as ``myapp/tests.py``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDINARY_TESTS = """import subprocess


def test_ordinary():
    password = "not-a-secret"
    assert subprocess.run(["true"], check=False).returncode == 0
    assert password
"""


def _project_with_an_app(folder: Path) -> Path:
    (folder / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    app = folder / "myapp"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "tests.py").write_text(ORDINARY_TESTS)
    return folder


def test_an_apps_tests_py_is_collected(tmp_path):
    project = _project_with_an_app(tmp_path)
    # Django itself is not needed to collect; the project's settings module lives in the checkout, not here.
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:django"]

    collected = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)

    assert collected.stdout.splitlines()[0] == "myapp/tests.py::test_ordinary", collected.stdout + collected.stderr


def test_the_lint_rules_accept_ordinary_test_code(tmp_path):
    project = _project_with_an_app(tmp_path)
    ruff = Path(sys.executable).parent / "ruff"

    linted = subprocess.run(
        [str(ruff), "check", "--no-cache", "myapp/tests.py"], cwd=project, capture_output=True, text=True, check=False
    )

    assert (linted.returncode, linted.stdout.strip()) == (0, "All checks passed!")
