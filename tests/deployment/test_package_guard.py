"""The Zappa settings hook refuses to package a virtualenv that would not work on Lambda, and says how to make one."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import click
import pytest

from websockets_app.deployment import zappa_hooks


def virtualenv(root: Path, *distributions: tuple[str, str]) -> Path:
    site_packages = root / "lib" / "python3.11" / "site-packages"
    site_packages.mkdir(parents=True)
    for name, version in distributions:
        info = site_packages / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return root


RUNNING = f"python{sys.version_info.major}.{sys.version_info.minor}"


def zappa_cli(command: str, runtime: str = RUNNING) -> types.SimpleNamespace:
    return types.SimpleNamespace(command=command, api_stage="dev", django_settings=None, runtime=runtime)


@pytest.mark.parametrize("command", ["package", "deploy", "update"])
def test_a_virtualenv_with_test_packages_is_refused_naming_a_fix_any_site_can_use(command, tmp_path, monkeypatch):
    venv = virtualenv(
        tmp_path / "venv", ("Django", "5.2.19"), ("pytest", "9.2.0"), ("moto", "5.2.5"), ("Ruff", "0.17.6")
    )
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))

    with pytest.raises(click.ClickException) as refused:
        zappa_hooks.settings(zappa_cli(command))

    assert refused.value.message == (
        f"The virtualenv {venv} holds test-only packages (moto, pytest, ruff): zappa {command} would ship them, past "
        "Lambda's size limits. Package from a virtualenv holding only what the site runs on, built from its own "
        "runtime requirements: `python3.13 -m venv .venv-deploy`, `.venv-deploy/bin/pip install -r requirements.txt`, "
        f"then `zappa {command} dev` with .venv-deploy activated."
    )
    assert "make " not in refused.value.message


def test_a_runtime_virtualenv_is_packaged(tmp_path, monkeypatch):
    venv = virtualenv(tmp_path / "venv", ("Django", "5.2.19"), ("zappa", "0.63.0"), ("apig-wsgi", "2.20.0"))
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))

    assert zappa_hooks.settings(zappa_cli("package")) is None


def test_commands_that_package_nothing_are_not_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("VIRTUAL_ENV", str(virtualenv(tmp_path / "venv", ("pytest", "9.2.0"))))

    assert zappa_hooks.settings(zappa_cli("status")) is None
    assert zappa_hooks.settings(zappa_cli("manage")) is None


@pytest.mark.parametrize("command", ["package", "deploy", "update"])
def test_a_virtualenv_of_another_python_than_the_runtime_is_refused(command, tmp_path, monkeypatch):
    monkeypatch.setenv("VIRTUAL_ENV", str(virtualenv(tmp_path / "venv", ("Django", "5.2.19"))))
    other = "python3.9" if RUNNING != "python3.9" else "python3.13"

    with pytest.raises(click.ClickException) as refused:
        zappa_hooks.settings(zappa_cli(command, runtime=other))

    assert refused.value.message == (
        f"The stage's runtime is {other}, but zappa runs on {RUNNING}: the package would hold the compiled packages "
        f"of {RUNNING}, which do not import on Lambda's {other}. Build the virtualenv you deploy from with the "
        f"runtime's Python (`{other} -m venv .venv-deploy`), or set the stage's runtime to {RUNNING}."
    )
