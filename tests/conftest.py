import django
import pytest

from websockets_app.testing import WebSocketTestClient, keep_test_database_connection

# The connections_api fixture: moto's @connections API answering 410/413/429 as AWS does; the docs' example projects.
pytest_plugins = ["tests.connections_api", "tests.docs_examples"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """A SQLite test database in a file, as the one a site runs on locally, not Django's in-memory one.

    Every message writes its connection's row (its rate-limit count), and the emulator runs events in threads. In
    the in-memory database the threads share one cache, where SQLite locks whole tables and refuses at once what a
    file database makes wait for its turn ("database table is locked"); a file behaves as a developer's does.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["TEST"] = {
            **database.get("TEST", {}),
            "NAME": str(tmp_path_factory.mktemp("database") / "test.sqlite3"),
        }


@pytest.fixture
def admins(settings):
    """Mail for the site's ADMINS, as each Django writes them: addresses since 6.0, (name, address) pairs before."""
    settings.ADMINS = ["admin@example.com"] if django.VERSION >= (6, 0) else [("Admin", "admin@example.com")]


@pytest.fixture
def lambda_handler():
    """The real Lambda entry point, with the test's database connection kept open (as Django's test client does)."""
    from project.lambda_handler import lambda_handler

    with keep_test_database_connection():
        yield lambda_handler


@pytest.fixture
def recorder(lambda_handler):
    """The real lambda_handler, recording each event and its answer (tests.emulator_support.RecordingHandler)."""
    from tests.emulator_support import RecordingHandler

    return RecordingHandler(lambda_handler)


@pytest.fixture
def emulator(settings, recorder):
    """The emulator on a free loopback port, in front of ``recorder``, the app's settings pointed at it."""
    from tests.emulator_support import running_emulator

    with running_emulator(settings, recorder) as server:
        yield server


@pytest.fixture
def websocket_client(db):
    """The app's own test client, driving the project's real lambda_handler."""
    with WebSocketTestClient("project.lambda_handler.lambda_handler") as client:
        yield client


@pytest.fixture(scope="session", autouse=True)
def _close_the_backends():
    """The process's send backends outlive every test; their connections are closed at the end of the run."""
    yield
    from websockets_app.backends import loading

    loading.close_backends()


@pytest.fixture(autouse=True)
def _root_script_prefix():
    """An HTTP event with a stage prefix leaves Django's thread-local script prefix at it: each test starts at "/"."""
    from django.urls import set_script_prefix

    yield
    set_script_prefix("/")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


class AwsCalls:
    """Records every AWS operation made through a session, to prove what a run did or did not do."""

    def __init__(self, session) -> None:
        self.operations: list[str] = []
        session.events.register("before-call", self._record)

    def _record(self, model, **kwargs) -> None:
        self.operations.append(model.name)

    @property
    def writes(self) -> list[str]:
        return [name for name in self.operations if not name.startswith(("Get", "List", "Describe"))]

    def clear(self) -> None:
        self.operations.clear()


@pytest.fixture
def aws(monkeypatch):
    """moto with a Lambda function, its role and a hosted zone, as ``zappa deploy`` would leave them."""
    import io
    import types
    import zipfile

    import boto3
    from moto import mock_aws

    from tests.aws_state import answer_route_responses, answer_stage_updates, report_domain_targets

    report_domain_targets(monkeypatch)
    answer_route_responses(monkeypatch)
    answer_stage_updates(monkeypatch)
    with mock_aws():
        session = boto3.session.Session(region_name="eu-west-1")
        role = session.client("iam").create_role(
            RoleName="chat-dev-ZappaLambdaExecutionRole", AssumeRolePolicyDocument="{}"
        )
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as archive:
            archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
        function = session.client("lambda").create_function(
            FunctionName="chat-dev",
            Runtime="python3.11",
            Role=role["Role"]["Arn"],
            Handler="handler.handler",
            Code={"ZipFile": package.getvalue()},
            Environment={"Variables": {"SECRET_KEY": "kept"}},
        )
        zone = session.client("route53").create_hosted_zone(Name="example.com", CallerReference="tests")
        yield types.SimpleNamespace(
            session=session,
            calls=AwsCalls(session),
            function_name="chat-dev",
            function_arn=function["FunctionArn"],
            role_name="chat-dev-ZappaLambdaExecutionRole",
            role_arn=role["Role"]["Arn"],
            zone_id=zone["HostedZone"]["Id"].rsplit("/", 1)[-1],
        )
