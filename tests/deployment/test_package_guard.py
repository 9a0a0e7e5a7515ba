"""The Zappa settings hook refuses to package a virtualenv holding test-only packages, and names the command to use."""

from __future__ import annotations

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


def zappa_cli(command: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(command=command, api_stage="dev", django_settings=None)


@pytest.mark.parametrize("command", ["package", "deploy", "update"])
def test_a_virtualenv_with_test_packages_is_refused_naming_the_make_target(command, tmp_path, monkeypatch):
    venv = virtualenv(
        tmp_path / "venv", ("Django", "5.2.19"), ("pytest", "9.2.0"), ("moto", "5.2.5"), ("Ruff", "0.17.6")
    )
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))

    with pytest.raises(click.ClickException) as refused:
        zappa_hooks.settings(zappa_cli(command))

    assert refused.value.message == (
        f"The virtualenv {venv} holds test-only packages (moto, pytest, ruff): zappa {command} would ship them, past "
        f"Lambda's size limits. Run `make {command} STAGE=dev` instead: it uses a virtualenv holding requirements.txt "
        "only (.venv-deploy)."
    )


def test_a_runtime_virtualenv_is_packaged(tmp_path, monkeypatch):
    venv = virtualenv(tmp_path / "venv", ("Django", "5.2.19"), ("zappa", "0.63.0"), ("apig-wsgi", "2.20.0"))
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))

    assert zappa_hooks.settings(zappa_cli("package")) is None


def test_commands_that_package_nothing_are_not_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("VIRTUAL_ENV", str(virtualenv(tmp_path / "venv", ("pytest", "9.2.0"))))

    assert zappa_hooks.settings(zappa_cli("status")) is None
    assert zappa_hooks.settings(zappa_cli("manage")) is None
