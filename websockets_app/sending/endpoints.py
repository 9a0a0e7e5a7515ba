"""Where a connection's messages go: its API's management endpoint, found the way botocore finds endpoints.

In order: ``WEBSOCKETS["ENDPOINT_URL"]`` (the app's override: a custom domain, a test endpoint); for a connection
opened through the local emulator (API id ``local``), the emulator a ``runserver`` of this project announced, so a
``manage.py shell``, a cron script or a worker on the same machine reaches it with no setting; the endpoint botocore
is configured with (``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI``, ``AWS_ENDPOINT_URL``, the AWS config file's
``services`` section, unless ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS``), read by botocore's own provider; else
``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from websockets_app.conf import aws_region, conf

__all__ = (
    "LOCAL_API_ID",
    "announce_emulator",
    "configured_endpoint",
    "endpoint_url",
    "has_endpoint",
    "running_emulator_endpoint",
    "signing_region",
)

# The API id the local emulator gives the connections it opens.
LOCAL_API_ID = "local"
SERVICE = "apigatewaymanagementapi"
# The credentials runserver signs with when the developer has none (the emulator checks signatures against them).
PLACEHOLDER_KEY = "local-emulator"
_placeholder_lock = threading.Lock()


def endpoint_url(api_id: str, stage: str) -> str:
    """The management endpoint for connections of ``api_id``/``stage``."""
    if conf.ENDPOINT_URL:
        return conf.ENDPOINT_URL
    if api_id == LOCAL_API_ID:
        return _local_emulator_endpoint()
    configured = configured_endpoint()
    if configured:
        return configured
    region = aws_region()
    if not region:
        raise ImproperlyConfigured(
            "No AWS region to send WebSocket messages through: set AWS_REGION (Lambda sets it) "
            "or WEBSOCKETS['ENDPOINT_URL']."
        )
    return f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}"


def has_endpoint(api_id: str, stage: str) -> bool:
    return bool(conf.ENDPOINT_URL or (api_id and stage))


def signing_region() -> str:
    """The region requests are signed for: the endpoint's; an ENDPOINT_URL (the local emulator) may name none,
    yet every request is signed."""
    return aws_region() or "us-east-1"


def configured_endpoint() -> str | None:
    """The endpoint botocore would give an ``apigatewaymanagementapi`` client built without one, if configured."""
    session, provider = _botocore_endpoint_provider()
    if session.get_config_variable("ignore_configured_endpoint_urls"):
        return None
    endpoint: str | None = provider.provide()
    return endpoint


@cache
def _botocore_endpoint_provider() -> tuple[Any, Any]:
    """A botocore session (the config file read once, as botocore reads it) and its endpoint provider for the
    management API, which reads the environment each time it is asked."""
    import botocore.session
    from botocore.configprovider import ConfiguredEndpointProvider

    session = botocore.session.get_session()
    provider = ConfiguredEndpointProvider(
        full_config=session.full_config, scoped_config=session.get_scoped_config(), client_name=SERVICE
    )
    return session, provider


# The local emulator's announcement: a file per project (settings module and database) in the temporary directory.


def announce_emulator(endpoint: str, *, placeholder_credentials: bool) -> Path:
    """Tell the project's other processes on this machine where the emulator ``runserver`` started listens, and
    whether it checks signatures against placeholder credentials. The file is removed when the process exits."""
    path = _announcement_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    announcement = {"endpoint": endpoint, "pid": os.getpid(), "placeholder_credentials": placeholder_credentials}
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps(announcement))
    scratch.replace(path)  # whole or not at all, for a process reading it meanwhile
    import atexit

    atexit.register(_withdraw, path, os.getpid())
    return path


def running_emulator_endpoint() -> str | None:
    """The endpoint of the emulator a live ``runserver`` of this project announced, or None."""
    announcement = _read_announcement()
    if announcement is None:
        return None
    if announcement.get("placeholder_credentials"):
        _use_placeholder_credentials()
    endpoint: str = announcement["endpoint"]
    return endpoint


def _local_emulator_endpoint() -> str:
    endpoint = running_emulator_endpoint()
    if endpoint is None:
        raise ImproperlyConfigured(
            f"These connections were opened through the local emulator (API {LOCAL_API_ID!r}), and no runserver of "
            f"this project is running: start `python manage.py runserver` (settings {_settings_module()}, "
            "the same database), or set WEBSOCKETS['ENDPOINT_URL'] to the emulator's http://HOST:PORT/STAGE."
        )
    return endpoint


def _read_announcement() -> dict[str, Any] | None:
    path = _announcement_path()
    try:
        announcement: dict[str, Any] = json.loads(path.read_text())
        os.kill(int(announcement["pid"]), 0)  # the runserver that wrote it is still there
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return announcement


def _withdraw(path: Path, pid: int) -> None:
    """Remove the announcement if it is still this process's (a restarted runserver may have replaced it)."""
    announcement = _read_announcement()
    if announcement is not None and announcement.get("pid") == pid:
        path.unlink(missing_ok=True)


def _announcement_path() -> Path:
    """One file per project: its settings module and default database, which runserver and the project's other
    processes share."""
    database = settings.DATABASES.get("default", {})
    identity = f"{_settings_module()}\n{database.get('ENGINE', '')}\n{database.get('NAME', '')}"
    name = hashlib.sha256(identity.encode()).hexdigest()[:24]
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"django-lambda-websockets-{user}" / f"emulator-{name}.json"


def _settings_module() -> str:
    return os.environ.get("DJANGO_SETTINGS_MODULE") or str(settings.SETTINGS_MODULE or "")


def _use_placeholder_credentials() -> None:
    """Sign as runserver does when it had no credentials: with its placeholders, when this process has none."""
    with _placeholder_lock:
        if "AWS_ACCESS_KEY_ID" in os.environ:
            return
        import botocore.session

        if botocore.session.get_session().get_credentials() is None:
            os.environ["AWS_ACCESS_KEY_ID"] = PLACEHOLDER_KEY
            os.environ["AWS_SECRET_ACCESS_KEY"] = PLACEHOLDER_KEY
