"""The stages of ``zappa_settings.json``: reading them as Zappa does, and the stage any site deploys with.

A stage works for this app when Lambda calls the app's handler with the site's settings, on the runtime the deploy
virtualenv was built for, from a package that leaves out what Lambda never reads (local databases and secrets,
tests, caches, version control, dev tools, the AWS SDK the runtime provides, what only the ``zappa`` command needs),
with the callbacks that guard and slim the package and provision the WebSocket API. ``websocket_deploy_settings``
writes it; merging keeps every other stage, and every value the site already set, as it was.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from websockets_app.provisioning.desired import DesiredApi, Throttling

__all__ = (
    "CALLBACKS",
    "EXCLUDE",
    "LAMBDA_HANDLER",
    "MEMORY_SIZE",
    "RUNTIME",
    "SETTINGS_FILE",
    "TIMEOUT_SECONDS",
    "StageChange",
    "lambda_function_name",
    "merge_stage",
    "project_name_for",
    "read_settings_file",
    "resolved_stages",
    "settings_file",
    "site_stage",
    "validate_stage_name",
    "validate_stage_options",
    "websocket_api_defaults",
    "write_settings_file",
)

SETTINGS_FILE = "zappa_settings.json"
LAMBDA_HANDLER = "websockets_app.lambda_handler.lambda_handler"
CALLBACKS = {
    "settings": "websockets_app.deployment.zappa_hooks.settings",
    "zip": "websockets_app.deployment.zappa_hooks.slim_package",
    "post": "websockets_app.deployment.zappa_hooks.post",
}
# Lambda's Amazon Linux 2023 runtime: the deploy virtualenv is built with the same Python, so its compiled wheels
# import on Lambda (the package guard refuses a virtualenv of another version).
RUNTIME = "python3.13"
MEMORY_SIZE = 512
# API Gateway gives up on an integration after 29 s; a little more lets the app's own deadline answer first.
TIMEOUT_SECONDS = 30
# Zappa matches each name against every file and folder name of the project and of the virtualenv's packages.
EXCLUDE = (
    # Local databases and secrets: a startproject site's db.sqlite3 holds its admin's password hash.
    "*.sqlite3",
    "*.sqlite3-journal",
    "*.sqlite3-wal",
    "*.sqlite3-shm",
    ".env",
    ".env.*",
    # Tests and what runs them.
    "tests",
    "tests.py",
    "test_*.py",
    "conftest.py",
    "pytest.ini",
    "tox.ini",
    "noxfile.py",
    ".coverage",
    "htmlcov",
    # Caches.
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".tox",
    ".nox",
    # Version control and editors.
    ".git",
    ".hg",
    ".svn",
    ".idea",
    ".vscode",
    # Virtualenvs and front-end tooling.
    ".venv",
    "venv",
    "node_modules",
    # Translation sources: Django reads the compiled .mo files beside them.
    "*.po",
    # The AWS SDK, which Lambda's Python runtimes provide.
    "boto3",
    "botocore",
    "s3transfer",
    # What only the zappa command on your machine uses, and the packaging tools.
    "troposphere",
    "cfn_flip",
    "cfn_tools",
    "yaml",
    "_yaml",
    "click",
    "kappa",
    "placebo",
    "hjson",
    "toml",
    "tqdm",
    "argcomplete",
    "slugify",
    "text_unidecode",
    "pip",
    "setuptools",
    "pkg_resources",
    "_distutils_hack",
    "wheel",
)
# websocket_api keys whose default depends on the stage (name, description) or that have none to show.
_UNWRITTEN_API_KEYS = frozenset({"name", "description"})
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-]+")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Zappa names the function's role "<function name>-ZappaLambdaExecutionRole"; IAM role names hold 64 characters.
_ROLE_SUFFIX = "-ZappaLambdaExecutionRole"
_IAM_ROLE_NAME_LIMIT = 64


@dataclasses.dataclass(frozen=True)
class StageChange:
    """One line of what merging changed: ``+`` added, ``~`` replaced, ``-`` removed, with why where it helps."""

    sign: str
    key: str
    detail: str = ""

    def __str__(self) -> str:
        return f"  {self.sign} {self.key}" + (f" ({self.detail})" if self.detail else "")


def websocket_api_defaults() -> dict[str, Any]:
    """The ``websocket_api`` block with the value each key takes when absent, for a stage to show them."""
    fields = {field.name: field.default for field in dataclasses.fields(DesiredApi)}
    return {
        "routes": [],
        "two_way": True,
        "route_selection_expression": fields["route_selection_expression"],
        "api_key_selection_expression": fields["api_key_selection_expression"],
        "default_channel_name": fields["default_channel_name"],
        "stage_description": fields["stage_description"],
        "tags": {},
        "domain_name": "",
        "certificate_arn": "",
        "hosted_zone_id": "",
        "take_over_domain": False,
        "lambda_alias": "",
        "throttling_rate_limit": Throttling().rate_limit,
        "throttling_burst_limit": Throttling().burst_limit,
    }


def project_name_for(folder: Path) -> str:
    """Zappa's own default project name for ``folder`` (its name, as a slug, at most 15 characters), pinned."""
    slug = re.sub(r"[^a-z0-9]+", "-", folder.name.lower()).strip("-")
    return slug[:15].strip("-") or "site"


def lambda_function_name(project_name: str, stage: str) -> str:
    """The function Zappa deploys a stage as: ``<project_name>-<stage>``, in lowercase."""
    return re.sub(r"[^a-z0-9]+", "-", f"{project_name}-{stage}".lower()).strip("-")


def site_stage(*, django_settings: str, project_name: str, region: str, s3_bucket: str) -> dict[str, Any]:
    """The stage a site needs, complete: what ``websocket_deploy_settings`` merges into ``zappa_settings.json``."""
    return {
        "project_name": project_name,
        "django_settings": django_settings,
        "lambda_handler": LAMBDA_HANDLER,
        "aws_region": region,
        "s3_bucket": s3_bucket,
        "runtime": RUNTIME,
        "memory_size": MEMORY_SIZE,
        "timeout_seconds": TIMEOUT_SECONDS,
        "exclude": list(EXCLUDE),
        "callbacks": dict(CALLBACKS),
        "websocket_api": websocket_api_defaults(),
    }


def validate_stage_name(stage: str) -> None:
    """Zappa names the function, its role and the API stages after the stage: refuse what AWS would refuse."""
    if not _STAGE_NAME.fullmatch(stage):
        raise ImproperlyConfigured(f"Stage {stage!r}: use letters, digits, '-' and '_' only (it names AWS resources).")


def validate_stage_options(stage: str, *, project_name: str, region: str, s3_bucket: str) -> None:
    """Refuse names AWS would refuse later, half-way through a deploy; raises ``ImproperlyConfigured``."""
    validate_stage_name(stage)
    function = lambda_function_name(project_name, stage)
    if len(function) + len(_ROLE_SUFFIX) > _IAM_ROLE_NAME_LIMIT:
        longest = _IAM_ROLE_NAME_LIMIT - len(_ROLE_SUFFIX)
        raise ImproperlyConfigured(
            f"The function would be named {function!r}, and its role {function + _ROLE_SUFFIX!r}: IAM role names "
            f"hold {_IAM_ROLE_NAME_LIMIT} characters. Keep project_name and the stage under {longest} together."
        )
    if not _REGION.fullmatch(region):
        raise ImproperlyConfigured(f"{region!r} is not an AWS region name (such as eu-west-1).")
    if not _BUCKET.fullmatch(s3_bucket) or ".." in s3_bucket:
        raise ImproperlyConfigured(
            f"{s3_bucket!r} is not an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-', starting and "
            "ending with a letter or digit."
        )


def merge_stage(
    settings: Mapping[str, Any], stage: str, wanted: Mapping[str, Any], *, given: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], list[StageChange]]:
    """``settings`` with ``stage`` made to work from ``wanted``; every other stage is returned as it was.

    What the app needs to run is set whatever the stage said (the handler, the settings module, the app's three
    callbacks, no ``slim_handler``), and so are the ``given`` keys (from the command line). Any other value the
    stage already has, itself or through ``extends``, is kept: ``wanted`` fills only what is missing, and the
    ``exclude`` list and ``websocket_api`` block gain their missing entries without losing the site's own.
    """
    merged = dict(settings)
    own = dict(settings.get(stage) or {})
    stages = resolved_stages(settings)
    effective = stages.get(stage, {})
    parent = own.get("extends")
    inherited = stages.get(parent, {}) if isinstance(parent, str) else {}
    changes: list[StageChange] = []

    def put(key: str, value: Any) -> None:
        if key not in effective:
            changes.append(StageChange("+", key))
        elif effective[key] != value:
            changes.append(StageChange("~", key, _difference(effective[key], value)))
        else:
            return
        own[key] = effective[key] = value

    for key in ("django_settings", "lambda_handler", *sorted(given)):
        put(key, wanted[key])
    callbacks = effective.get("callbacks")
    put("callbacks", {**(callbacks if isinstance(callbacks, dict) else {}), **wanted["callbacks"]})
    if effective.get("slim_handler"):
        own.pop("slim_handler", None)
        if inherited.get("slim_handler"):
            own["slim_handler"] = False
        changes.append(StageChange("-", "slim_handler", "Lambda could not import the app's handler from S3"))
    for key in ("exclude", "websocket_api"):
        current = effective.get(key)
        if isinstance(current, list):
            put(key, current + [name for name in wanted[key] if name not in current])
        elif isinstance(current, dict):
            put(key, {**wanted[key], **current})
    for key, value in wanted.items():
        if key not in effective:
            put(key, value)
    if stage not in settings:
        own = {key: own[key] for key in wanted}
        changes.sort(key=lambda change: list(wanted).index(change.key))
    merged[stage] = own
    return merged, changes


def resolved_stages(settings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each stage with the stages it ``extends`` applied beneath it, as Zappa reads them; non-stages left out."""

    def resolved(stage: str, seen: frozenset[str] = frozenset()) -> dict[str, Any]:
        own = settings.get(stage)
        if not isinstance(own, dict):
            return {}
        parent = own.get("extends")
        base = resolved(parent, seen | {stage}) if isinstance(parent, str) and parent not in seen else {}
        return {**base, **own}

    return {stage: resolved(stage) for stage in settings if isinstance(settings[stage], dict)}


def settings_file() -> Path:
    """``zappa_settings.json`` beside ``manage.py`` (the site's ``BASE_DIR``, else the current folder)."""
    return Path(getattr(django_settings, "BASE_DIR", None) or Path.cwd()) / SETTINGS_FILE


def read_settings_file(path: Path) -> dict[str, Any]:
    """The stages in ``path``; ``{}`` when it does not exist. Raises ``ImproperlyConfigured`` when unreadable."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ImproperlyConfigured(f"Cannot read {path}: {error.strerror}.") from error
    try:
        settings = json.loads(text)
    except ValueError as error:
        raise ImproperlyConfigured(f"{path} is not valid JSON ({error}); fix it and run the command again.") from error
    if not isinstance(settings, dict):
        raise ImproperlyConfigured(f"{path} must hold a JSON object of stages.")
    return settings


def write_settings_file(path: Path, settings: Mapping[str, Any]) -> None:
    """Replace ``path`` in one step (a crash leaves the old file or the new one, never half of one)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(settings, file, indent=4)
            file.write("\n")
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _difference(old: Any, new: Any) -> str:
    """What changed in a value, in a few words: the keys or entries added and changed, or the old and new value."""
    if isinstance(old, dict) and isinstance(new, dict):
        added = [key for key in new if key not in old]
        changed = [key for key in new if key in old and old[key] != new[key]]
        parts = [f"{sign} {_names(keys, 'keys')}" for sign, keys in (("+", added), ("~", changed)) if keys]
        return "; ".join(parts)
    if isinstance(old, list) and isinstance(new, list):
        return "+ " + _names([json.dumps(entry) for entry in new if entry not in old], "entries")
    return f"{json.dumps(old)} -> {json.dumps(new)}"


def _names(names: list[str], kind: str) -> str:
    return ", ".join(names) if len(names) <= 3 else f"{len(names)} {kind}"
