"""System checks: the misconfigurations that make WebSockets fail on AWS, caught by ``manage.py check``.

Every id is stable (listed in docs/reference.md) and every message says how to fix it. The checks stand here in the
order of their ids: errors E0xx (the site and its deployment), E2xx (a ``WEBSOCKETS`` value of the wrong type, one id
per key), then warnings W0xx (AWS reachability, static files on Lambda) and W1xx (settings that quietly weaken the
app's defences). Only the check tagged ``database`` reads the database, and only when Django asks for database
checks (``check --database``, ``migrate``).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.http.request import validate_host
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.exceptions import Resolver404

from websockets_app.conf import WebSocketsSettings, aws_region, conf, settings_by_name
from websockets_app.deployment.stage_settings import SETTINGS_FILE, read_settings_file, resolved_stages, settings_file
from websockets_app.deployment.static_files import STATICFILES_APP, static_files_problems
from websockets_app.security.origins import shared_domain_wildcards

__all__ = (
    "check_allowed_hosts",
    "check_allowed_hosts_for_apis",
    "check_app_order",
    "check_aws_region",
    "check_csrf_exemption",
    "check_origin_default",
    "check_rate_limit_store",
    "check_send_backend",
    "check_setting_types",
    "check_slim_handler",
    "check_static_files",
    "check_url_pattern",
    "check_websockets_setting",
    "check_zappa_websocket_import",
)

# Zappa's own handler, which slim_handler can load (it ships it in the small package).
ZAPPA_HANDLERS = frozenset({"handler.lambda_handler", "zappa.handler.lambda_handler"})
APP_NAME = "websockets_app"
ROUTES_CHECKED = ("connect", "disconnect", "default")
CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"
_ZAPPA_WEBSOCKET_IMPORT = re.compile(
    r"^\s*(?:import\s+zappa\.websocket\b|from\s+zappa\.websocket\b|from\s+zappa\s+import\s+[^#\n]*\bwebsocket\b)",
    re.MULTILINE,
)
_SKIPPED_DIRECTORIES = {"node_modules", "__pycache__", "site-packages", "migrations"}


@register()
def check_slim_handler(**kwargs: Any) -> list[CheckMessage]:
    """E001: ``slim_handler`` puts the project in S3, so Lambda cannot import a handler that lives in it."""
    errors: list[CheckMessage] = []
    for stage, stage_settings in _zappa_stages().items():
        handler = stage_settings.get("lambda_handler")
        if stage_settings.get("slim_handler") and isinstance(handler, str) and handler not in ZAPPA_HANDLERS:
            errors.append(
                Error(
                    f"Zappa stage {stage!r} sets slim_handler together with the project's own lambda_handler "
                    f"{handler!r}: Lambda cannot import it, so every event fails.",
                    hint=f'Remove "slim_handler" from stage {stage!r} in {SETTINGS_FILE}; keep the '
                    'package under Lambda\'s 250 MB limit by trimming dependencies or using "exclude" instead.',
                    id="websockets_app.E001",
                )
            )
    return errors


@register(Tags.database)
def check_allowed_hosts_for_apis(
    app_configs: Any = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """E002: the hosts of the WebSocket APIs recorded in the database must all be allowed."""
    if not databases:
        return []
    from django.db import connections

    from websockets_app.models import ApiGateway

    if (
        "default" not in databases
        or ApiGateway._meta.db_table not in connections["default"].introspection.table_names()
    ):
        return []
    errors: list[CheckMessage] = []
    for api in ApiGateway.objects.exclude(api_id="", custom_domain_name=""):
        region = api.aws_region or aws_region()
        hosts = [api.custom_domain_name] if api.custom_domain_name else []
        if api.api_id and region:
            hosts.append(f"{api.api_id}.execute-api.{region}.amazonaws.com")
        errors.extend(
            Error(
                f"ALLOWED_HOSTS does not accept {host}, the host of WebSocket API {api.api_name!r}: every event "
                "through it is answered 400.",
                hint=f'Add "{host}" to ALLOWED_HOSTS.',
                id="websockets_app.E002",
            )
            for host in hosts
            if not _host_allowed(host)
        )
    return errors


@register()
def check_websockets_setting(**kwargs: Any) -> list[CheckMessage]:
    """E003: a misspelled key is otherwise ignored without a word, and its default used instead."""
    value = getattr(settings, "WEBSOCKETS", {})
    if not isinstance(value, dict):
        return [
            Error(
                f"WEBSOCKETS must be a dict, not {type(value).__name__}.",
                hint=f"Set WEBSOCKETS = {{...}} with keys among {', '.join(sorted(settings_by_name()))}.",
                id="websockets_app.E003",
            )
        ]
    errors: list[CheckMessage] = []
    for key in value:
        if key in settings_by_name():
            continue
        close = difflib.get_close_matches(str(key).upper(), settings_by_name(), n=1)
        hint = f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(sorted(settings_by_name()))}."
        errors.append(Error(f"Unknown WEBSOCKETS key {key!r}.", hint=hint, id="websockets_app.E003"))
    return errors


@register(Tags.urls)
def check_url_pattern(**kwargs: Any) -> list[CheckMessage]:
    """E004/E005: events are posted to ``{PATH_PREFIX}<route>``; a WebSocketView must be there to take them."""
    from websockets_app.views import WebSocketView

    pattern_hint = (
        f'Add path("{conf.PATH_PREFIX.lstrip("/")}<slug:route>", YourWebSocketView.as_view()) to your URLconf.'
    )
    errors: list[CheckMessage] = []
    for route in ROUTES_CHECKED:
        path = conf.PATH_PREFIX + route
        try:
            match = get_resolver().resolve(path)
        except Resolver404:
            errors.append(
                Error(
                    f"No URL pattern matches {path}, where ${route} events are posted.",
                    hint=pattern_hint,
                    id="websockets_app.E004",
                )
            )
            continue
        view_class = getattr(match.func, "view_class", None)
        if not (isinstance(view_class, type) and issubclass(view_class, WebSocketView)):
            errors.append(
                Error(
                    f"{path} (${route} events) resolves to {_qualified_name(match.func)}, which is not a "
                    "WebSocketView.",
                    hint=pattern_hint,
                    id="websockets_app.E004",
                )
            )
        elif match.kwargs.get("route") != route:
            errors.append(
                Error(
                    f"The URL pattern for {path} does not capture the route as 'route' (it captures "
                    f"{sorted(match.kwargs) or 'nothing'}).",
                    hint=pattern_hint,
                    id="websockets_app.E005",
                )
            )
    return errors


@register()
def check_zappa_websocket_import(**kwargs: Any) -> list[CheckMessage]:
    """E006: importing ``zappa.websocket`` makes Zappa deploy a second WebSocket API of its own.

    Looks at what the process has imported, and at the project's own source (its apps, settings and URLconf under
    BASE_DIR, not installed packages: on Lambda those sit next to the project).
    """
    places = ["the running process (sys.modules)"] if "zappa.websocket" in sys.modules else []
    base_dir = _base_dir().resolve()
    places.extend(
        str(path.relative_to(base_dir))
        for root in _project_packages(base_dir)
        for path in _python_files(root)
        if _imports_zappa_websocket(path)
    )
    if not places:
        return []
    return [
        Error(
            f"zappa.websocket is imported ({', '.join(places)}): Zappa would then create a second WebSocket API "
            "that bypasses this app.",
            hint="Remove the import; write a WebSocketView and send with WebSocketSession.send_message() instead.",
            id="websockets_app.E006",
        )
    ]


@register(Tags.urls)
def check_csrf_exemption(**kwargs: Any) -> list[CheckMessage]:
    """E007: events are POSTs without a CSRF token; CsrfViewMiddleware refuses them unless the view is exempt."""
    if CSRF_MIDDLEWARE not in settings.MIDDLEWARE:
        return []
    from websockets_app.views import WebSocketView

    errors: list[CheckMessage] = []
    for pattern in _url_patterns(get_resolver().url_patterns):
        view_class = getattr(pattern.callback, "view_class", None)
        if (
            isinstance(view_class, type)
            and issubclass(view_class, WebSocketView)
            and not getattr(pattern.callback, "csrf_exempt", False)
        ):
            errors.append(
                Error(
                    f"{_qualified_name(view_class)} at {pattern.pattern.describe()} is not "
                    "CSRF-exempt: CsrfViewMiddleware answers 403 to every WebSocket event.",
                    hint="Do not override as_view() without returning csrf_exempt(...) of it, or decorate dispatch() "
                    "with @method_decorator(csrf_exempt).",
                    id="websockets_app.E007",
                )
            )
    return errors


@register()
def check_app_order(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E008: the first app providing a command wins, so after staticfiles ``runserver`` serves no WebSockets."""
    names = [config.name for config in django_apps.get_app_configs()]
    if STATICFILES_APP not in names or names.index(STATICFILES_APP) > names.index(APP_NAME):
        return []
    return [
        Error(
            f"{APP_NAME!r} comes after {STATICFILES_APP!r} in INSTALLED_APPS, so runserver is staticfiles' one: "
            "WebSocket upgrades get 404 and no events reach your views locally.",
            hint=f"List {APP_NAME!r} before {STATICFILES_APP!r} (first, for example) in INSTALLED_APPS.",
            id="websockets_app.E008",
        )
    ]


@register()
def check_setting_types(**kwargs: Any) -> list[CheckMessage]:
    """E201-E234, E240, E241: a value of the wrong type is otherwise found only when the code reading it fails."""
    configured = getattr(settings, "WEBSOCKETS", {})
    if not isinstance(configured, dict):
        return []  # E003
    errors: list[CheckMessage] = []
    for name, setting in settings_by_name().items():
        if name in configured and not setting.kind.accepts(configured[name]):
            errors.append(
                Error(
                    f"WEBSOCKETS[{name!r}] is {configured[name]!r}, which is not {setting.kind.description}.",
                    hint=f"Set WEBSOCKETS[{name!r}] to {setting.kind.description} ({setting.doc}; default "
                    f"{setting.default!r}), or remove it to use the default.",
                    id=f"websockets_app.{setting.check_id}",
                )
            )
    return errors


@register()
def check_send_backend(**kwargs: Any) -> list[CheckMessage]:
    """E235: a ``SEND_BACKEND`` that names no send backend would fail every send; said at start-up instead."""
    path = conf.SEND_BACKEND
    if not WebSocketsSettings.SEND_BACKEND.kind.accepts(path):
        return []  # E234
    from django.core.exceptions import ImproperlyConfigured

    from websockets_app.backends.loading import load_backend_class

    try:
        load_backend_class(path)
    except ImproperlyConfigured as error:
        return [
            Error(
                str(error),
                hint="Set WEBSOCKETS['SEND_BACKEND'] to 'websockets_app.backends.CurlBackend' (the default), "
                "'websockets_app.backends.Boto3Backend', 'websockets_app.backends.LocmemBackend', or the dotted path "
                "of your own subclass of websockets_app.backends.SendBackend.",
                id="websockets_app.E235",
            )
        ]
    return []


@register(deploy=True)
def check_aws_region(**kwargs: Any) -> list[CheckMessage]:
    """W001: without a region the app cannot build the management API endpoint to send messages.

    A deployment check (``check --deploy``): local development sends through ``ENDPOINT_URL`` and needs none.
    """
    if conf.ENDPOINT_URL or aws_region():
        return []
    return [
        Warning(
            "No AWS region is configured: messages cannot be sent and API Gateway's hostnames are unknown.",
            hint="Set AWS_REGION or AWS_DEFAULT_REGION (Lambda sets AWS_REGION itself), or a region in your AWS "
            'profile; locally, set WEBSOCKETS["ENDPOINT_URL"] instead.',
            id="websockets_app.W001",
        )
    ]


@register()
def check_allowed_hosts(**kwargs: Any) -> list[CheckMessage]:
    """W002: events arrive with the execute-api host; Django answers 400 to every one it does not allow.

    A warning, not an error: a site reached only through a custom domain does not need the execute-api host.
    """
    region = aws_region()
    if not region:
        return []
    host = f"a1b2c3d4e5.execute-api.{region}.amazonaws.com"
    if _host_allowed(host):
        return []
    return [
        Warning(
            f"ALLOWED_HOSTS does not accept API Gateway's hostnames in {region} (such as {host}): every WebSocket "
            "event through the execute-api URL is answered 400.",
            hint=f'Add ".execute-api.{region}.amazonaws.com" to ALLOWED_HOSTS (or only your custom domain, if '
            "clients never use the execute-api URL).",
            id="websockets_app.W002",
        )
    ]


@register(deploy=True)
def check_static_files(**kwargs: Any) -> list[CheckMessage]:
    """W003, W004: static files with nowhere to be gathered, or nothing serving them, on Lambda.

    Deployment checks: locally ``runserver`` serves the apps' static files itself. The Zappa ``settings`` callback
    runs them before every package it lets Zappa build.
    """
    return static_files_problems()


@register(Tags.security)
def check_origin_default(**kwargs: Any) -> list[CheckMessage]:
    """Without ALLOWED_ORIGINS the Origin check follows ALLOWED_HOSTS, whose AWS wildcards admit anyone's pages."""
    if conf.ALLOWED_ORIGINS is not None:
        return []
    wildcards = shared_domain_wildcards(list(settings.ALLOWED_HOSTS))
    if not wildcards:
        return []
    return [
        Warning(
            f"WEBSOCKETS['ALLOWED_ORIGINS'] is not set, so $connect accepts every Origin that ALLOWED_HOSTS accepts; "
            f"{', '.join(repr(host) for host in wildcards)} admits pages on hosts anyone can create there (any "
            "execute-api or CloudFront site), which can then open connections with your visitors' cookies.",
            hint="Set WEBSOCKETS['ALLOWED_ORIGINS'] to the origins of your own pages, e.g. "
            "['https://www.example.com'] or ['https://abc123defg.execute-api.eu-west-1.amazonaws.com'].",
            id="websockets_app.W101",
        )
    ]


# Cache backends whose counters are not shared by Lambda containers (or not kept at all).
UNSHARED_CACHE_BACKENDS = {
    "django.core.cache.backends.locmem.LocMemCache": "keeps its counters per process",
    "django.core.cache.backends.filebased.FileBasedCache": "keeps its counters on one container's disk",
    "django.core.cache.backends.dummy.DummyCache": "keeps nothing, which turns every limit off",
}


@register(Tags.security)
def check_rate_limit_store(**kwargs: Any) -> list[CheckMessage]:
    """Rate limits in a per-process or dummy cache reset on cold starts and multiply with concurrency."""
    alias = conf.RATE_LIMIT_CACHE
    if alias is None:
        return []
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    problem = UNSHARED_CACHE_BACKENDS.get(backend)
    if problem is None:
        return []
    return [
        Warning(
            f"WEBSOCKETS['RATE_LIMIT_CACHE'] is {alias!r}, a {backend.rsplit('.', 1)[-1]} that {problem}: on Lambda "
            "each container counts alone, from zero after every cold start, so the connect and token limits do not "
            "hold.",
            hint="Remove RATE_LIMIT_CACHE to count in the database (the default), or name a cache every container "
            "shares with atomic increments (Redis, Memcached).",
            id="websockets_app.W102",
        )
    ]


def _host_allowed(host: str) -> bool:
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return validate_host(host, allowed)


def _base_dir() -> Path:
    return settings_file().parent


def _zappa_stages() -> dict[str, dict[str, Any]]:
    """Each stage of zappa_settings.json next to manage.py, with ``extends`` applied; {} when there is none."""
    try:
        return resolved_stages(read_settings_file(settings_file()))
    except ImproperlyConfigured:
        return {}


def _project_packages(base_dir: Path) -> list[Path]:
    """Top-level packages of the installed apps, settings and URLconf that live under BASE_DIR and that no
    installed distribution provides."""
    from django.apps import apps

    distributed = set(importlib.metadata.packages_distributions())
    names = [config.name for config in apps.get_app_configs()]
    names.extend(name for name in (settings.SETTINGS_MODULE, settings.ROOT_URLCONF) if isinstance(name, str))
    roots: list[Path] = []
    for top_level in sorted({name.partition(".")[0] for name in names} - distributed):
        module = sys.modules.get(top_level)
        location = getattr(module, "__file__", None)
        if not location:
            continue
        root = Path(location).resolve().parent if Path(location).name == "__init__.py" else Path(location).resolve()
        if root.is_relative_to(base_dir) and root not in roots:
            roots.append(root)
    return roots


def _python_files(root: Path) -> Iterator[Path]:
    """A package's Python files (or the one module), without hidden, vendored or virtualenv directories."""
    if root.is_file():
        yield root
        return
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [
            name
            for name in subdirectories
            if not name.startswith(".")
            and name not in _SKIPPED_DIRECTORIES
            and not (Path(directory) / name / "pyvenv.cfg").exists()
        ]
        for name in files:
            if name.endswith(".py"):
                yield Path(directory) / name


def _imports_zappa_websocket(path: Path) -> bool:
    try:
        source = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "zappa" in source and _ZAPPA_WEBSOCKET_IMPORT.search(source) is not None


def _url_patterns(patterns: list[URLPattern | URLResolver]) -> Iterator[URLPattern]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _url_patterns(pattern.url_patterns)
        else:
            yield pattern


def _qualified_name(thing: Any) -> str:
    return f"{getattr(thing, '__module__', '?')}.{getattr(thing, '__qualname__', type(thing).__qualname__)}"
