"""Zappa callbacks that keep the stage's WebSocket API in step with ``zappa deploy``, ``update`` and ``undeploy``.

In ``zappa_settings.json``::

    "callbacks": {"settings": "websockets_app.deployment.zappa_hooks.settings",
                  "zip": "websockets_app.deployment.zappa_hooks.slim_package",
                  "post": "websockets_app.deployment.zappa_hooks.post"}

``settings`` runs first for every command. Before a package is built it refuses a virtualenv that would not work
on Lambda (test tools in it, or another Python than the stage's runtime) and a site whose static files would have
nowhere to be served from, then gathers them (``collectstatic``). Zappa has no hook after ``undeploy``, so for
``undeploy`` it makes Zappa remove the WebSocket API (and its domain, DNS record, permission and role policy) before
the function. ``zip`` runs once the package is built and strips the debug sections of its compiled extensions (a
few MB). ``post`` runs after ``deploy`` and ``update`` and reconciles the API from the stage's ``websocket_api``
dict. ``manage.py websocket_deploy_settings STAGE`` writes a stage naming all three.

Zappa loads this file by path, outside the project's import path; the project directory it is run from (the
one Zappa packages) is put on the path first so the app's modules import as they will on Lambda.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any


def _make_project_importable() -> None:
    project_dir = os.getcwd()
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)


_make_project_importable()

import click  # noqa: E402  (after the path is set)
from botocore.exceptions import ClientError  # noqa: E402

from websockets_app.deployment.package_guard import test_only_packages  # noqa: E402
from websockets_app.deployment.static_files import REFUSED  # noqa: E402
from websockets_app.exceptions import InvalidRoutes, InvalidThrottling, ProvisioningError  # noqa: E402
from websockets_app.provisioning.desired import (  # noqa: E402
    CustomDomain,
    DesiredApi,
    LambdaTarget,
    parse_routes,
    parse_throttling,
    parse_two_way,
)
from websockets_app.provisioning.reconcile import reconcile, resolve_target, teardown  # noqa: E402

__all__ = (
    "collect_static",
    "desired_from_stage",
    "post",
    "refuse_dev_virtualenv",
    "refuse_other_python",
    "settings",
    "slim_package",
)

SETTINGS_KEY = "websocket_api"
# Commands that build a package, which must carry the collected static files.
PACKAGING_COMMANDS = frozenset({"deploy", "update", "package"})
_KEYS = frozenset(
    {
        "name",
        "description",
        "route_selection_expression",
        "api_key_selection_expression",
        "routes",
        "tags",
        "stage_description",
        "domain_name",
        "certificate_arn",
        "hosted_zone_id",
        "take_over_domain",
        "default_channel_name",
        "lambda_alias",
        "two_way",
        "throttling_rate_limit",
        "throttling_burst_limit",
    }
)
# Keys passed to DesiredApi as they are, under the same name.
_PLAIN_KEYS = (
    "route_selection_expression",
    "api_key_selection_expression",
    "stage_description",
    "default_channel_name",
)


def post(zappa_cli: Any) -> None:
    """After ``deploy`` and ``update``: make the stage's WebSocket API match its settings and print its URL."""
    desired = _desired(zappa_cli)
    try:
        outcome = reconcile(desired, session=zappa_cli.zappa.boto_session, echo=click.echo)
    except ProvisioningError as error:
        raise click.ClickException(f"WebSocket API not provisioned: {error}") from error
    click.echo("WebSocket URL: " + click.style(outcome.websocket_url, bold=True))


def slim_package(zappa_cli: Any) -> None:
    """Once the package is zipped: drop the debug sections of its compiled extensions, which Lambda never reads."""
    from websockets_app.deployment.package_slimming import strip_debug_info

    saved = strip_debug_info(zappa_cli.zip_path)
    if saved:
        click.echo(f"Debug information of compiled extensions stripped: {saved / 1024 / 1024:.1f} MB smaller.")


def settings(zappa_cli: Any) -> None:
    """Before every command: check and prepare what a package holds; for ``undeploy``, remove the WebSocket API."""
    if zappa_cli.command in PACKAGING_COMMANDS:
        refuse_dev_virtualenv(zappa_cli.command, zappa_cli.api_stage)
        refuse_other_python(zappa_cli.runtime)
    if zappa_cli.command in PACKAGING_COMMANDS and zappa_cli.django_settings:
        collect_static(zappa_cli.django_settings)
    if zappa_cli.command != "undeploy":
        return
    zappa_undeploy = zappa_cli.undeploy

    def undeploy(no_confirm: bool = False, remove_logs: bool = False) -> None:
        if not no_confirm and input("Are you sure you want to undeploy? [y/n] ") != "y":
            return
        _remove(zappa_cli)
        zappa_undeploy(no_confirm=True, remove_logs=remove_logs)

    zappa_cli.undeploy = undeploy


def refuse_dev_virtualenv(command: str, stage: str) -> None:
    """Stop before Zappa zips a virtualenv holding test-only packages: the package would not fit Lambda."""
    from zappa.core import Zappa

    virtualenv = Zappa.get_current_venv()
    found = test_only_packages(virtualenv) if virtualenv else []
    if found:
        raise click.ClickException(
            f"The virtualenv {virtualenv} holds test-only packages ({', '.join(found)}): zappa {command} would ship "
            f"them, past Lambda's size limits. Package from a virtualenv holding only what the site runs on, built "
            f"from its own runtime requirements: `python3.13 -m venv .venv-deploy`, `.venv-deploy/bin/pip install "
            f"-r requirements.txt`, then `zappa {command} {stage}` with .venv-deploy activated."
        )


def refuse_other_python(runtime: str) -> None:
    """Stop before Zappa zips packages compiled for another Python than the stage's Lambda runtime runs."""
    running = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != running:
        raise click.ClickException(
            f"The stage's runtime is {runtime}, but zappa runs on {running}: the package would hold the compiled "
            f"packages of {running}, which do not import on Lambda's {runtime}. Build the virtualenv you deploy "
            f"from with the runtime's Python (`{runtime} -m venv .venv-deploy`), or set the stage's runtime to "
            f"{running}."
        )


def collect_static(django_settings: str) -> None:
    """Check where static files are served from on Lambda and gather them into the package (``STATIC_ROOT``).

    Both run in a process of their own with the site's settings, as ``manage.py`` would: the checks refuse a
    set-up that would leave the deployed site without its static files, naming the fixes.
    """
    click.echo("Collecting static files..")
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": django_settings}
    script = "from websockets_app.deployment.static_files import prepare; raise SystemExit(prepare())"
    command = [sys.executable, "-c", script]
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode == REFUSED:
        raise click.ClickException(f"Static files are not set up for Lambda:\n{completed.stderr.strip()}")
    if completed.returncode != 0:
        raise click.ClickException(f"collectstatic failed:\n{completed.stderr.strip()}")


def desired_from_stage(
    stage_config: dict[str, Any], *, lambda_name: str, stage: str, target: LambdaTarget
) -> DesiredApi:
    """The API a stage asks for; with no ``websocket_api`` at all, a working API with sensible defaults."""
    options = _options(stage_config)
    try:
        routes = parse_routes(options.get("routes"))
    except InvalidRoutes as error:
        raise click.ClickException(f"{SETTINGS_KEY}.routes: {error}") from error
    try:
        one_way = parse_two_way(options.get("two_way"), routes)
    except InvalidRoutes as error:
        raise click.ClickException(f"{SETTINGS_KEY}.two_way: {error}") from error
    try:
        throttling = parse_throttling(options.get("throttling_rate_limit"), options.get("throttling_burst_limit"))
    except InvalidThrottling as error:
        raise click.ClickException(f"{SETTINGS_KEY}.{error}") from error
    domain = None
    if options.get("domain_name"):
        if not options.get("certificate_arn"):
            raise click.ClickException(f"{SETTINGS_KEY}.domain_name needs certificate_arn (ACM, in the API's region)")
        domain = CustomDomain(
            options["domain_name"],
            options["certificate_arn"],
            options.get("hosted_zone_id", ""),
            take_over=options.get("take_over_domain") is True,
        )
    given = {key: options[key] for key in _PLAIN_KEYS if key in options}  # the rest keep DesiredApi's defaults
    return DesiredApi(
        name=options.get("name") or f"{lambda_name}-websocket",
        target=target,
        description=options.get("description", f"WebSocket API of {lambda_name}"),
        tags={"zappa-function": lambda_name, **{str(k): str(v) for k, v in (options.get("tags") or {}).items()}},
        routes=routes,
        stage_name=stage,
        domain=domain,
        one_way_routes=one_way,
        throttling=throttling,
        **given,
    )


def _options(stage_config: dict[str, Any]) -> dict[str, Any]:
    options = stage_config.get(SETTINGS_KEY, {})
    if not isinstance(options, dict):
        raise click.ClickException(f"{SETTINGS_KEY} must be an object in zappa_settings.json")
    unknown = sorted(set(options) - _KEYS)
    if unknown:
        known = ", ".join(sorted(_KEYS))
        raise click.ClickException(f"Unknown {SETTINGS_KEY} keys: {', '.join(unknown)} (known: {known})")
    return options


def _desired(zappa_cli: Any) -> DesiredApi:
    alias = _options(zappa_cli.stage_config).get("lambda_alias", "")
    target = resolve_target(zappa_cli.lambda_name, alias=alias, session=zappa_cli.zappa.boto_session)
    return desired_from_stage(
        zappa_cli.stage_config, lambda_name=zappa_cli.lambda_name, stage=zappa_cli.api_stage, target=target
    )


def _remove(zappa_cli: Any) -> None:
    try:
        desired = _desired(zappa_cli)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        click.echo(f"No Lambda function {zappa_cli.lambda_name}: no WebSocket API of its own to remove.")
        return
    try:
        teardown(desired, session=zappa_cli.zappa.boto_session, echo=click.echo)
    except ProvisioningError as error:
        raise click.ClickException(f"WebSocket API not removed: {error}") from error
