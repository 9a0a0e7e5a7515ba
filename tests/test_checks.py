"""System checks: each misconfiguration caught with a stable id and a hint saying how to fix it."""

import json
import re
import sys
import types
from pathlib import Path

import pytest
from django.core.checks import Error, Warning, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.http import HttpResponse
from django.urls import path

from tests.websocket_views import ActionView, CustomDispatchView
from websockets_app import checks
from websockets_app.conf import conf, settings_by_name
from websockets_app.models import ApiGateway
from websockets_app.views import WebSocketView

# Django 6.1's model checks ask the database whether it supports JSONField: running every check needs it.
pytestmark = pytest.mark.django_db

URL_HINT = 'Add path("ws/<slug:route>", YourWebSocketView.as_view()) to your URLconf.'

# Every WEBSOCKETS key, in alphabetical order, as the unknown-key check lists them.
KNOWN_KEYS = [
    "ALLOWED_ORIGINS",
    "ALLOW_MISSING_ORIGIN",
    "CONNECT_RATE_LIMIT_PER_IP",
    "CONNECT_RATE_LIMIT_PER_USER",
    "CONNECT_TOKEN_MAX_AGE",
    "CONNECT_TOKEN_RATE_LIMIT_PER_USER",
    "DEFAULT_CHANNEL_NAME",
    "EMULATOR_BINARY_FRAMES",
    "EMULATOR_CONNECTIONS_PER_SECOND",
    "EMULATOR_INTEGRATION_TIMEOUT",
    "EMULATOR_ORDERED_MESSAGES",
    "EMULATOR_REQUIRE_SIGNATURE",
    "EMULATOR_THROTTLE_SHARE",
    "ENDPOINT_URL",
    "HISTORY_CHANNELS",
    "HISTORY_MAX_AGE",
    "HISTORY_MAX_MESSAGES",
    "HISTORY_REPLAY_LIMIT",
    "LAMBDA_FUNCTION_NAME",
    "LAMBDA_HANDLER",
    "MAX_JOINED_CHANNELS",
    "MESSAGE_RATE_LIMIT",
    "PATH_PREFIX",
    "PRESENCE_EVENTS_CHANNELS",
    "PROVISION_ON_SAVE",
    "RATE_LIMIT_CACHE",
    "RATE_LIMIT_IPV6_PREFIX",
    "ROUTE_PATHS",
    "SEND_BACKEND",
    "SEND_BATCH_SIZE",
    "SEND_CONCURRENCY",
    "SEND_CONNECT_TIMEOUT",
    "SEND_MAX_ATTEMPTS",
    "SEND_RATE_LIMIT",
    "SEND_READ_TIMEOUT",
    "URL",
]


def urlconf(*patterns) -> types.ModuleType:
    module = types.ModuleType("check_urls")
    module.urlpatterns = list(patterns)
    return module


def plain_view(request, route):
    return HttpResponse()


class NotExemptView(ActionView):
    """Overrides as_view() and so loses the exemption WebSocketView.as_view() gives."""

    @classmethod
    def as_view(cls, **initkwargs):
        return super(WebSocketView, cls).as_view(**initkwargs)


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_the_project_as_configured_passes_every_check_but_the_origin_warning(settings):
    # The test environment's ALLOWED_HOSTS hold the execute-api wildcard, as the project's Lambda default does.
    assert [m.id for m in run_checks(include_deployment_checks=True) if m.id.startswith("websockets_app.")] == [
        "websockets_app.W101"
    ]
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "ALLOWED_ORIGINS": ["https://www.example.com"]}
    assert [m for m in run_checks(include_deployment_checks=True) if m.id.startswith("websockets_app.")] == []
    assert checks.check_allowed_hosts_for_apis(databases=None) == []


def test_checks_are_registered_by_the_app(settings):
    settings.WEBSOCKETS = {"ENDPOINT_ULR": "https://ws.example.com"}

    with pytest.raises(SystemCheckError, match=r"websockets_app\.E003"):
        call_command("check")


class TestAppOrder:
    def test_the_app_after_staticfiles_is_an_error(self, settings):
        apps = [name for name in settings.INSTALLED_APPS if name != "websockets_app"]
        settings.INSTALLED_APPS = [*apps, "websockets_app"]

        assert checks.check_app_order() == [
            Error(
                "'websockets_app' comes after 'django.contrib.staticfiles' in INSTALLED_APPS, so runserver is "
                "staticfiles' one: WebSocket upgrades get 404 and no events reach your views locally.",
                hint="List 'websockets_app' before 'django.contrib.staticfiles' (first, for example) in "
                "INSTALLED_APPS.",
                id="websockets_app.E008",
            )
        ]

    def test_the_app_first_or_without_staticfiles_passes(self, settings):
        apps = [name for name in settings.INSTALLED_APPS if name != "websockets_app"]
        settings.INSTALLED_APPS = ["websockets_app", *apps]
        assert checks.check_app_order() == []

        settings.INSTALLED_APPS = [name for name in settings.INSTALLED_APPS if name != "django.contrib.staticfiles"]
        assert checks.check_app_order() == []


class TestSlimHandler:
    def test_slim_handler_with_the_projects_own_handler_is_an_error(self, settings, tmp_path):
        (tmp_path / "zappa_settings.json").write_text(
            json.dumps(
                {
                    "dev": {"lambda_handler": "project.lambda_handler.lambda_handler", "slim_handler": True},
                    "production": {"extends": "dev", "memory_size": 1024},
                    "zappas-own": {"slim_handler": True, "lambda_handler": "handler.lambda_handler"},
                    "not-slim": {"lambda_handler": "project.lambda_handler.lambda_handler"},
                }
            )
        )
        settings.BASE_DIR = tmp_path

        assert checks.check_slim_handler() == [
            Error(
                f"Zappa stage {stage!r} sets slim_handler together with the project's own lambda_handler "
                "'project.lambda_handler.lambda_handler': Lambda cannot import it, so every event fails.",
                hint=f'Remove "slim_handler" from stage {stage!r} in zappa_settings.json; keep the package under '
                'Lambda\'s 250 MB limit by trimming dependencies or using "exclude" instead.',
                id="websockets_app.E001",
            )
            for stage in ("dev", "production")
        ]

    @pytest.mark.parametrize("content", [None, "{not json", "[]"])
    def test_no_readable_zappa_settings_means_nothing_to_check(self, settings, tmp_path, content):
        if content is not None:
            (tmp_path / "zappa_settings.json").write_text(content)
        settings.BASE_DIR = tmp_path

        assert checks.check_slim_handler() == []


class TestRegion:
    @pytest.fixture
    def no_region(self, monkeypatch, tmp_path):
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))

    def test_no_region_is_a_deployment_warning(self, no_region):
        warning = Warning(
            "No AWS region is configured: messages cannot be sent and API Gateway's hostnames are unknown.",
            hint="Set AWS_REGION or AWS_DEFAULT_REGION (Lambda sets AWS_REGION itself), or a region in your AWS "
            'profile; locally, set WEBSOCKETS["ENDPOINT_URL"] instead.',
            id="websockets_app.W001",
        )

        assert warning in run_checks(include_deployment_checks=True)
        assert "websockets_app.W001" not in ids(run_checks())

    def test_a_region_from_the_aws_profile_counts(self, no_region, monkeypatch, tmp_path):
        (tmp_path / "config").write_text("[default]\nregion = us-east-2\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))

        assert checks.check_aws_region() == []

    def test_an_endpoint_url_needs_no_region(self, no_region, settings):
        settings.WEBSOCKETS = {"ENDPOINT_URL": "http://127.0.0.1:8000"}

        assert checks.check_aws_region() == []


class TestAllowedHosts:
    def test_warns_when_the_execute_api_host_is_not_allowed(self, settings):
        settings.ALLOWED_HOSTS = ["example.com"]

        assert checks.check_allowed_hosts() == [
            Warning(
                "ALLOWED_HOSTS does not accept API Gateway's hostnames in eu-west-1 (such as "
                "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com): every WebSocket event through the execute-api "
                "URL is answered 400.",
                hint='Add ".execute-api.eu-west-1.amazonaws.com" to ALLOWED_HOSTS (or only your custom domain, if '
                "clients never use the execute-api URL).",
                id="websockets_app.W002",
            )
        ]

    @pytest.mark.parametrize("allowed", [["*"], [".amazonaws.com"], ["a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"]])
    def test_accepting_patterns_pass(self, settings, allowed):
        settings.ALLOWED_HOSTS = allowed

        assert checks.check_allowed_hosts() == []

    @pytest.mark.django_db
    def test_hosts_of_recorded_apis_must_be_allowed(self, settings):
        settings.ALLOWED_HOSTS = [".execute-api.eu-west-1.amazonaws.com"]
        ApiGateway.objects.create(api_name="chat", api_id="abc123", custom_domain_name="ws.example.com")
        ApiGateway.objects.create(api_name="east", api_id="def456", aws_region="us-east-1")
        ApiGateway.objects.create(api_name="not-created-yet")

        assert checks.check_allowed_hosts_for_apis(databases=["default"]) == [
            Error(
                "ALLOWED_HOSTS does not accept ws.example.com, the host of WebSocket API 'chat': every event "
                "through it is answered 400.",
                hint='Add "ws.example.com" to ALLOWED_HOSTS.',
                id="websockets_app.E002",
            ),
            Error(
                "ALLOWED_HOSTS does not accept def456.execute-api.us-east-1.amazonaws.com, the host of WebSocket API "
                "'east': every event through it is answered 400.",
                hint='Add "def456.execute-api.us-east-1.amazonaws.com" to ALLOWED_HOSTS.',
                id="websockets_app.E002",
            ),
        ]
        assert checks.check_allowed_hosts_for_apis(databases=None) == []


class TestWebsocketsSetting:
    def test_unknown_keys_are_errors_suggesting_the_closest(self, settings):
        settings.WEBSOCKETS = {
            "ENDPOINT_ULR": "x",
            "default_channel_name": "y",
            "COLOUR": "blue",
            "PATH_PREFIX": "/ws/",
        }

        assert checks.check_websockets_setting() == [
            Error(
                "Unknown WEBSOCKETS key 'ENDPOINT_ULR'.", hint="Did you mean 'ENDPOINT_URL'?", id="websockets_app.E003"
            ),
            Error(
                "Unknown WEBSOCKETS key 'default_channel_name'.",
                hint="Did you mean 'DEFAULT_CHANNEL_NAME'?",
                id="websockets_app.E003",
            ),
            Error(
                "Unknown WEBSOCKETS key 'COLOUR'.",
                hint="Known keys: " + ", ".join(KNOWN_KEYS) + ".",
                id="websockets_app.E003",
            ),
        ]

    def test_a_non_dict_is_an_error(self, settings):
        settings.WEBSOCKETS = ["ENDPOINT_URL"]

        assert ids(checks.check_websockets_setting()) == ["websockets_app.E003"]
        assert checks.check_websockets_setting()[0].msg == "WEBSOCKETS must be a dict, not list."


class TestUrlPattern:
    def test_a_missing_pattern_is_an_error_for_each_route(self, settings):
        settings.ROOT_URLCONF = urlconf(path("other/<slug:route>", ActionView.as_view()))

        assert checks.check_url_pattern() == [
            Error(
                f"No URL pattern matches /ws/{route}, where ${route} events are posted.",
                hint=URL_HINT,
                id="websockets_app.E004",
            )
            for route in ("connect", "disconnect", "default")
        ]

    def test_a_view_that_is_not_a_websocket_view_is_an_error(self, settings):
        settings.ROOT_URLCONF = urlconf(path("ws/<slug:route>", plain_view))

        assert checks.check_url_pattern()[0] == Error(
            "/ws/connect ($connect events) resolves to tests.test_checks.plain_view, which is not a WebSocketView.",
            hint=URL_HINT,
            id="websockets_app.E004",
        )

    def test_a_slug_not_named_route_is_an_error(self, settings):
        settings.ROOT_URLCONF = urlconf(path("ws/<slug:action>", ActionView.as_view()))

        assert checks.check_url_pattern()[0] == Error(
            "The URL pattern for /ws/connect does not capture the route as 'route' (it captures ['action']).",
            hint=URL_HINT,
            id="websockets_app.E005",
        )

    def test_follows_the_path_prefix_setting(self, settings):
        settings.WEBSOCKETS = {"PATH_PREFIX": "/sockets/"}
        settings.ROOT_URLCONF = urlconf(path("sockets/<slug:route>", ActionView.as_view()))

        assert checks.check_url_pattern() == []


class TestZappaWebsocketImport:
    IMPORT_LINE = "from zappa" + ".websocket import on_connect\n"  # split, so this file never matches itself

    def test_an_import_in_the_running_process_is_an_error(self, monkeypatch, settings, tmp_path):
        settings.BASE_DIR = tmp_path
        monkeypatch.setitem(sys.modules, "zappa.websocket", types.ModuleType("zappa.websocket"))

        assert checks.check_zappa_websocket_import() == [
            Error(
                "zappa.websocket is imported (the running process (sys.modules)): Zappa would then create a second "
                "WebSocket API that bypasses this app.",
                hint="Remove the import; write a WebSocketView and send with WebSocketSession.send_message() instead.",
                id="websockets_app.E006",
            )
        ]

    @pytest.fixture
    def project(self, settings, tmp_path, monkeypatch):
        """A project under BASE_DIR whose URLconf package is ``chatproject``; returns that package's directory."""
        package = tmp_path / "chatproject"
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "urls.py").write_text("urlpatterns = []\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        settings.BASE_DIR = tmp_path
        settings.ROOT_URLCONF = "chatproject.urls"
        __import__("chatproject.urls")
        yield package
        for name in ("chatproject.urls", "chatproject"):
            sys.modules.pop(name, None)

    @pytest.mark.parametrize(
        "line",
        [IMPORT_LINE, "import zappa" + ".websocket\n", "    from zappa import handler, " + "websocket\n"],
    )
    def test_an_import_in_the_projects_source_is_an_error(self, project, line):
        (project / "sockets.py").write_text("import json\n" + line)

        assert checks.check_zappa_websocket_import()[0].msg.startswith(
            "zappa.websocket is imported (chatproject/sockets.py)"
        )

    def test_virtualenvs_hidden_and_vendored_directories_are_not_scanned(self, project):
        for directory in ("venv", ".hidden", "node_modules/pkg", "lib/site-packages/pkg"):
            (project / directory).mkdir(parents=True)
            (project / directory / "module.py").write_text(self.IMPORT_LINE)
        (project / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
        (project / "notes.py").write_text('"""Never: from zappa' + '.websocket import x"""\n')

        assert checks.check_zappa_websocket_import() == []

    def test_installed_packages_next_to_the_project_are_not_scanned(self, project):
        """On Lambda, installed packages sit next to the project, under BASE_DIR: Zappa's own among them."""
        (project / "sockets.py").write_text(self.IMPORT_LINE)
        dist_info = project.parent / "chatproject-1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: chatproject\nVersion: 1.0\n")
        (dist_info / "top_level.txt").write_text("chatproject\n")

        assert checks.check_zappa_websocket_import() == []


class TestCsrfExemption:
    def test_a_websocket_view_that_lost_its_exemption_is_an_error(self, settings):
        settings.ROOT_URLCONF = urlconf(path("ws/<slug:route>", NotExemptView.as_view()))

        assert checks.check_csrf_exemption() == [
            Error(
                "tests.test_checks.NotExemptView at 'ws/<slug:route>' is not CSRF-exempt: CsrfViewMiddleware "
                "answers 403 to every WebSocket event.",
                hint="Do not override as_view() without returning csrf_exempt(...) of it, or decorate dispatch() "
                "with @method_decorator(csrf_exempt).",
                id="websockets_app.E007",
            )
        ]

    def test_a_dispatch_override_keeps_the_exemption(self, settings):
        settings.ROOT_URLCONF = urlconf(path("ws/<slug:route>", CustomDispatchView.as_view()))

        assert checks.check_csrf_exemption() == []

    def test_nothing_to_check_without_the_csrf_middleware(self, settings):
        settings.ROOT_URLCONF = urlconf(path("ws/<slug:route>", NotExemptView.as_view()))
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != checks.CSRF_MIDDLEWARE]

        assert checks.check_csrf_exemption() == []


class TestOriginDefault:
    @pytest.mark.parametrize(
        "hosts",
        [
            [".execute-api.eu-west-1.amazonaws.com"],
            ["www.example.com", ".eu-west-1.on.aws"],
            [".cloudfront.net."],
            ["*"],
        ],
    )
    def test_a_shared_domain_wildcard_without_allowed_origins_warns(self, settings, hosts):
        settings.ALLOWED_HOSTS = hosts
        settings.WEBSOCKETS = {}

        messages = checks.check_origin_default()

        assert ids(messages) == ["websockets_app.W101"]
        assert messages[0].hint == (
            "Set WEBSOCKETS['ALLOWED_ORIGINS'] to the origins of your own pages, e.g. ['https://www.example.com'] "
            "or ['https://abc123defg.execute-api.eu-west-1.amazonaws.com']."
        )
        assert "websockets_app.W101" in ids(run_checks(tags=["security"]))

    @pytest.mark.parametrize(
        ("hosts", "origins"),
        [
            ([".execute-api.eu-west-1.amazonaws.com"], ["https://www.example.com"]),
            (["abc123defg.execute-api.eu-west-1.amazonaws.com", ".example.com", "localhost"], None),
        ],
    )
    def test_own_hosts_or_explicit_origins_do_not_warn(self, settings, hosts, origins):
        settings.ALLOWED_HOSTS = hosts
        settings.WEBSOCKETS = {"ALLOWED_ORIGINS": origins}

        assert checks.check_origin_default() == []


# One wrong value per key, the id its check reports, and what the hint says a right one is.
WRONG_VALUES = [
    ("DEFAULT_CHANNEL_NAME", "room 1", "E201", "a channel name (1 to 128 letters, digits, '-', '_' or '.')"),
    ("ENDPOINT_URL", "localhost:8000", "E202", "an http:// or https:// URL, or None"),
    ("MAX_JOINED_CHANNELS", -1, "E203", "a whole number of 0 or more"),
    ("PATH_PREFIX", "/ws", "E204", "a path starting and ending with '/' (\"/ws/\")"),
    ("LAMBDA_HANDLER", "handler", "E205", 'a dotted path ("project.lambda_handler.lambda_handler"), or None'),
    ("ALLOWED_ORIGINS", "https://example.com", "E206", "a list of strings, or None"),
    ("ALLOW_MISSING_ORIGIN", "no", "E207", "True or False"),
    ("CONNECT_TOKEN_MAX_AGE", 0, "E208", "a whole number of 1 or more"),
    ("CONNECT_RATE_LIMIT_PER_IP", 60, "E209", "a pair of whole numbers of 1 or more (count, seconds), or None"),
    ("CONNECT_RATE_LIMIT_PER_USER", (30, 0), "E210", "a pair of whole numbers of 1 or more (count, seconds), or None"),
    (
        "CONNECT_TOKEN_RATE_LIMIT_PER_USER",
        (True, 60),
        "E211",
        "a pair of whole numbers of 1 or more (count, seconds), or None",
    ),
    ("RATE_LIMIT_CACHE", 1, "E212", "a string, or None"),
    ("RATE_LIMIT_IPV6_PREFIX", 129, "E213", "a prefix length from 0 to 128"),
    ("ROUTE_PATHS", {"join": 1}, "E214", "a dict of strings to strings"),
    ("URL", "https://example.com/ws", "E215", 'a ws:// or wss:// URL ("{host}" stands for the page\'s host), or None'),
    ("LAMBDA_FUNCTION_NAME", ["chat-dev"], "E216", "a string, or None"),
    ("PROVISION_ON_SAVE", 1, "E217", "True or False"),
    ("SEND_CONCURRENCY", 0, "E218", "a whole number of 1 or more"),
    ("SEND_CONNECT_TIMEOUT", "2", "E219", "a number of seconds above 0"),
    ("SEND_READ_TIMEOUT", 0, "E220", "a number of seconds above 0"),
    ("SEND_MAX_ATTEMPTS", 2.5, "E221", "a whole number of 1 or more"),
    ("SEND_BATCH_SIZE", 0, "E222", "a whole number of 1 or more, or None"),
    ("EMULATOR_ORDERED_MESSAGES", "yes", "E223", "True or False"),
    ("EMULATOR_BINARY_FRAMES", None, "E224", "True or False"),
    ("EMULATOR_REQUIRE_SIGNATURE", 0, "E225", "True or False"),
    ("EMULATOR_THROTTLE_SHARE", 1.5, "E226", "a number from 0 to 1"),
    ("EMULATOR_INTEGRATION_TIMEOUT", -29, "E227", "a number of seconds above 0, or None"),
    ("EMULATOR_CONNECTIONS_PER_SECOND", 0.5, "E228", "a whole number of 1 or more, or None"),
    ("HISTORY_CHANNELS", "room-*", "E229", "a list of strings"),
    ("HISTORY_MAX_MESSAGES", None, "E230", "a whole number of 0 or more"),
    ("HISTORY_MAX_AGE", "1 day", "E231", "a number of seconds above 0"),
    ("HISTORY_REPLAY_LIMIT", 0, "E232", "a whole number of 1 or more"),
    ("PRESENCE_EVENTS_CHANNELS", ["*", 1], "E233", "a list of strings"),
    ("SEND_BACKEND", "CurlBackend", "E234", 'a dotted path to a send backend ("websockets_app.backends.CurlBackend")'),
    ("MESSAGE_RATE_LIMIT", (30, 0.5), "E240", "a pair of whole numbers of 1 or more (count, seconds), or None"),
    ("SEND_RATE_LIMIT", 0, "E241", "a whole number of 1 or more"),
]


class TestSettingTypes:
    def test_every_key_has_its_own_check_in_id_order(self):
        assert [key for key, *_ in WRONG_VALUES] == list(settings_by_name())
        # The ids of the settings' checks leave room between groups: E201-E234, then E240 on.
        assert [check_id for _, _, check_id, _ in WRONG_VALUES] == [
            *(f"E{number}" for number in range(201, 235)),
            "E240",
            "E241",
        ]

    @pytest.mark.parametrize(("key", "value", "check_id", "expected"), WRONG_VALUES)
    def test_a_value_of_the_wrong_type_is_reported_with_the_fix(self, settings, key, value, check_id, expected):
        settings.WEBSOCKETS = {key: value}

        [error] = checks.check_setting_types()

        assert (error.id, error.msg) == (
            f"websockets_app.{check_id}",
            f"WEBSOCKETS[{key!r}] is {value!r}, which is not {expected}.",
        )
        assert error.hint.startswith(f"Set WEBSOCKETS[{key!r}] to {expected} (")
        assert error.hint.endswith("or remove it to use the default.")

    def test_the_defaults_and_the_demos_values_pass(self, settings):
        settings.WEBSOCKETS = {name: setting.default for name, setting in settings_by_name().items()}
        assert checks.check_setting_types() == []
        settings.WEBSOCKETS = {
            "HISTORY_CHANNELS": ["*"],
            "CONNECT_RATE_LIMIT_PER_IP": [60, 60],
            "ENDPOINT_URL": "http://127.0.0.1:8000/local",
            "URL": "ws://{host}/",
            "SEND_READ_TIMEOUT": 2.5,
            "ALLOWED_ORIGINS": ("https://www.example.com",),
        }
        assert checks.check_setting_types() == []

    def test_a_wrong_value_is_read_as_given_until_fixed(self, settings):
        """conf hands back what the settings say; the check is what tells the developer."""
        settings.WEBSOCKETS = {"SEND_CONCURRENCY": "many"}
        assert conf.SEND_CONCURRENCY == "many"
        settings.WEBSOCKETS = "not a dict"
        assert conf.SEND_CONCURRENCY == 256


def test_the_reference_lists_every_setting_with_its_check():
    reference = (Path(__file__).resolve().parents[1] / "docs" / "reference.md").read_text()
    rows = dict(re.findall(r"^\| `([A-Z0-9_]+)` \|.*\| `(E2\d\d)` \|$", reference, re.MULTILINE))
    assert rows == {key: check_id for key, _, check_id, _ in WRONG_VALUES}


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("myproject.backends.Missing", "which cannot be imported: No module named 'myproject'"),
        ("websockets_app.backends.Post", "which is not a subclass of websockets_app.backends.SendBackend."),
    ],
)
def test_a_send_backend_that_is_not_one_is_reported_at_start_up(settings, path, problem):
    settings.WEBSOCKETS = {"SEND_BACKEND": path}
    [error] = checks.check_send_backend()
    assert (error.id, error.msg) == ("websockets_app.E235", f"WEBSOCKETS['SEND_BACKEND'] is {path!r}, {problem}")
    assert error.hint.startswith("Set WEBSOCKETS['SEND_BACKEND'] to 'websockets_app.backends.CurlBackend' (the")


def test_the_shipped_send_backends_pass(settings):
    for name in ("CurlBackend", "Boto3Backend", "LocmemBackend"):
        settings.WEBSOCKETS = {"SEND_BACKEND": f"websockets_app.backends.{name}"}
        assert checks.check_send_backend() == []
