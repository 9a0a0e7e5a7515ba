"""The front-ends of the reconcile: management commands, admin actions and edits, the Zappa settings reader."""

import ast
import io
import sys
import types
from pathlib import Path

import click
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from tests.aws_events import message_event
from tests.aws_state import ACCOUNT, REGION, aws_state
from websockets_app.deployment import zappa_hooks
from websockets_app.deployment.zappa_hooks import desired_from_stage
from websockets_app.events.translation import to_http_event
from websockets_app.models import ApiGateway, ApiGatewayAdditionalRoute
from websockets_app.provisioning.desired import CustomDomain, LambdaTarget, Throttling
from websockets_app.provisioning.records import desired_from_row

pytestmark = pytest.mark.django_db
CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/abc"


@pytest.fixture
def row():
    api = ApiGateway.objects.create(api_name="chat", api_description="Chat", stage_name="dev", tags={"team": "web"})
    ApiGatewayAdditionalRoute.objects.create(api_gateway=api, route_key="sendmessage")
    return api


@pytest.fixture
def on_lambda(aws, monkeypatch):
    """Run as ``zappa manage`` does: on the Lambda, which provisions for itself."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", aws.function_name)
    return aws


def command(name, *args):
    out = io.StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue().splitlines()


def state_in_aws(aws):
    return aws_state(aws.session, function_name=aws.function_name, role_name=aws.role_name, zone_id=aws.zone_id)


def routes_in_aws(aws):
    return [[route[0] for route in api["routes"]] for api in state_in_aws(aws)["apis"]]


def give_domain(row, name="chat.example.com"):
    row.custom_domain_name = name
    row.certificate_arn = CERTIFICATE
    row.save()


def test_create_api_gateway_command_provisions_and_records(on_lambda, row):
    lines = command("create_api_gateway", f"--pk={row.pk}")

    row.refresh_from_db()
    assert row.api_id
    assert lines[0] == "Reconciling WebSocket API chat.."
    assert lines[-2:] == [
        "  12 changes made.",
        f"WebSocket URL: wss://{row.api_id}.execute-api.{REGION}.amazonaws.com/dev",
    ]
    assert row.api_endpoint == f"wss://{row.api_id}.execute-api.{REGION}.amazonaws.com"
    assert (row.api_created, row.custom_domain_created, row.api_mapping_id) == (True, False, "")
    assert routes_in_aws(on_lambda) == [["$connect", "$default", "$disconnect", "sendmessage"]]

    assert command("create_api_gateway", f"--pk={row.pk}")[1] == "  WebSocket API is up to date."


def test_the_rows_throttling_reaches_the_stage_and_an_edit_follows(on_lambda, row):
    command("create_api_gateway", f"--pk={row.pk}")
    row.refresh_from_db()
    row.throttling_rate_limit, row.throttling_burst_limit = 20.5, 40
    row.save()

    lines = command("create_api_gateway", f"--pk={row.pk}")

    assert lines[1:3] == [
        "  ~ stage dev (throttling: 1000 requests/s, bursts of 500 -> 20.5 requests/s, bursts of 40)",
        "  1 change made.",
    ]
    assert state_in_aws(on_lambda)["apis"][0]["stages"] == [("dev", True, 20.5, 40)]


def test_a_rows_throttling_that_would_stop_everything_is_refused_by_the_admin(admin_client, row):
    form = api_change_form(row, "Chat", {"additional_routes-TOTAL_FORMS": "0", "additional_routes-INITIAL_FORMS": "0"})

    response = admin_client.post(
        f"/admin/websockets_app/apigateway/{row.pk}/change/",
        {**form, "throttling_rate_limit": "0", "throttling_burst_limit": "0"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "throttling_rate_limit": ["Ensure this value is greater than or equal to 1."],
        "throttling_burst_limit": ["Ensure this value is greater than or equal to 1."],
    }


def test_create_api_gateway_dry_run_changes_nothing(on_lambda, row):
    lines = command("create_api_gateway", f"--pk={row.pk}", "--dry-run")

    row.refresh_from_db()
    assert lines[0] == "Planning WebSocket API chat.."
    assert lines[-1] == "  12 changes to make (dry run: nothing was changed)."
    assert (row.api_id, row.api_created) == ("", False)
    assert on_lambda.calls.writes == []
    assert routes_in_aws(on_lambda) == []


def test_create_custom_domain_command(on_lambda, row):
    give_domain(row)

    lines = command("create_custom_domain", f"--pk={row.pk}")

    row.refresh_from_db()
    assert lines[-1] == "WebSocket URL: wss://chat.example.com"
    assert (row.api_created, row.custom_domain_created) == (True, True)
    assert row.api_gateway_domain_name == f"d-chat-example-com.execute-api.{REGION}.amazonaws.com"
    assert row.api_mapping_id


def test_create_api_gateway_publishes_no_domain_it_did_not_create(on_lambda, row):
    give_domain(row)

    lines = command("create_api_gateway", f"--pk={row.pk}")

    row.refresh_from_db()
    url = f"wss://{row.api_id}.execute-api.{REGION}.amazonaws.com/dev"
    assert lines[-1] == f"WebSocket URL: {url}"
    found = state_in_aws(on_lambda)
    assert (found["environment"]["WEBSOCKET_URL"], found["domains"]) == (url, [])


def test_create_custom_domain_without_a_domain_is_refused(on_lambda, row):
    with pytest.raises(CommandError, match="chat has no custom domain name to create"):
        command("create_custom_domain", f"--pk={row.pk}")


def test_a_failed_run_is_not_flagged_created(on_lambda, row):
    give_domain(row, "chat.example.org")  # no hosted zone holds it

    with pytest.raises(CommandError, match="No public Route 53 hosted zone holds"):
        command("create_custom_domain", f"--pk={row.pk}")

    row.refresh_from_db()
    assert row.api_id
    assert (row.api_created, row.custom_domain_created) == (True, False)


def test_unknown_row_and_unknown_function_are_refused(aws, row):
    with pytest.raises(CommandError, match="No ApiGateway with pk=999"):
        command("create_api_gateway", "--pk=999")
    with pytest.raises(CommandError, match="No Lambda function to integrate with"):
        command("create_api_gateway", f"--pk={row.pk}")


def test_function_name_can_be_given_locally(aws, row):
    command("create_api_gateway", f"--pk={row.pk}", f"--function-name={aws.function_name}")

    row.refresh_from_db()
    assert row.api_created is True


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "secret-password")
    client.force_login(user)
    return client


def test_admin_pages_render(admin_client, row):
    for url in (
        "/admin/websockets_app/apigateway/",
        f"/admin/websockets_app/apigateway/{row.pk}/change/",
        "/admin/websockets_app/apigatewayadditionalroute/",
        "/admin/websockets_app/websocketsession/",
    ):
        assert admin_client.get(url).status_code == 200


@override_settings(WEBSOCKETS={"PROVISION_ON_SAVE": True})
def test_admin_action_then_an_edited_route_reaches_aws(on_lambda, admin_client, row):
    response = admin_client.post(
        "/admin/websockets_app/apigateway/",
        {"action": "create_api_gateway", "_selected_action": [row.pk]},
        follow=True,
    )
    row.refresh_from_db()
    [message] = [str(message) for message in response.context["messages"]]
    assert message.startswith("chat: 12 changes made (+ api chat; + integration AWS_PROXY; + route $connect;")
    assert message.endswith(f"; WebSocket URL wss://{row.api_id}.execute-api.{REGION}.amazonaws.com/dev")
    assert row.api_created is True
    route = row.additional_routes.get()

    response = admin_client.post(
        f"/admin/websockets_app/apigatewayadditionalroute/{route.pk}/change/",
        {"api_gateway": row.pk, "route_key": "say", "name": "", "path": "/rooms/ws/say", "two_way": "on"},
        follow=True,
    )

    assert routes_in_aws(on_lambda) == [["$connect", "$default", "$disconnect", "say"]]
    assert next(str(message) for message in response.context["messages"]) == (
        "chat: 4 changes made (+ route say (two-way); - route sendmessage (no longer configured); "
        "+ route response $default of route say; ~ environment chat-dev (WEBSOCKET_ROUTE_PATHS)); "
        f"WebSocket URL wss://{row.api_id}.execute-api.{REGION}.amazonaws.com/dev"
    )


def api_change_form(row, description: str, routes: dict) -> dict:
    """The API's change form as the admin posts it, ``routes`` being the fields of its inline formset of routes."""
    return {
        "api_name": row.api_name,
        "api_description": description,
        "default_channel_name": "default",
        "aws_region": "",
        "custom_domain_name": "",
        "certificate_arn": "",
        "hosted_zone_id": "",
        "api_key_selection_expression": "$request.header.x-api-key",
        "route_selection_expression": "$request.body.action",
        "route_key": "$default",
        "stage_name": "dev",
        "stage_description": "",
        "tags": '{"team": "web"}',
        "lambda_alias": "",
        "two_way": "on",
        "throttling_rate_limit": "1000",
        "throttling_burst_limit": "500",
        **routes,
    }


def change_form(row, route):
    """The description edited, the route replaced by "typing"."""
    return api_change_form(
        row,
        "Chat rooms",
        {
            "additional_routes-TOTAL_FORMS": "2",
            "additional_routes-INITIAL_FORMS": "1",
            "additional_routes-0-id": route.pk,
            "additional_routes-0-api_gateway": row.pk,
            "additional_routes-0-route_key": "sendmessage",
            "additional_routes-0-DELETE": "on",
            "additional_routes-1-api_gateway": row.pk,
            "additional_routes-1-route_key": "typing",
            "additional_routes-1-two_way": "on",
        },
    )


@override_settings(WEBSOCKETS={"PROVISION_ON_SAVE": True})
def test_admin_change_form_with_inline_routes_reaches_aws(on_lambda, admin_client, row):
    command("create_api_gateway", f"--pk={row.pk}")
    row.refresh_from_db()

    response = admin_client.post(
        f"/admin/websockets_app/apigateway/{row.pk}/change/", change_form(row, row.additional_routes.get())
    )

    assert response.status_code == 302
    assert routes_in_aws(on_lambda) == [["$connect", "$default", "$disconnect", "typing"]]
    gateway = on_lambda.session.client("apigatewayv2")
    assert gateway.get_api(ApiId=row.api_id)["Description"] == "Chat rooms"


def test_by_default_saving_in_the_admin_leaves_aws_alone(on_lambda, admin_client, row):
    command("create_api_gateway", f"--pk={row.pk}")
    row.refresh_from_db()
    route = row.additional_routes.get()
    on_lambda.calls.clear()

    response = admin_client.post(
        f"/admin/websockets_app/apigateway/{row.pk}/change/", change_form(row, route), follow=True
    )
    admin_client.post(
        f"/admin/websockets_app/apigatewayadditionalroute/{row.additional_routes.get().pk}/delete/", {"post": "yes"}
    )

    assert on_lambda.calls.operations == []
    assert routes_in_aws(on_lambda) == [["$connect", "$default", "$disconnect", "sendmessage"]]
    assert [str(message) for message in response.context["messages"]] == [
        "chat: AWS is unchanged until you run Create API Gateway.",
        f'The API Gateway “<a href="/admin/websockets_app/apigateway/{row.pk}/change/">chat</a>” was changed '
        "successfully.",
    ]
    assert list(row.additional_routes.values_list("route_key", flat=True)) == []


def test_admin_action_reports_aws_errors(admin_client, aws, row):
    response = admin_client.post(
        "/admin/websockets_app/apigateway/",
        {"action": "create_api_gateway", "_selected_action": [row.pk]},
        follow=True,
    )

    assert [str(message) for message in response.context["messages"]] == [
        "chat: No Lambda function to integrate with: pass --function-name, set WEBSOCKETS['LAMBDA_FUNCTION_NAME'], "
        "or run the command on Lambda with `zappa manage`."
    ]


TARGET = LambdaTarget(
    function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:site-dev",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/site-dev-ZappaLambdaExecutionRole",
)


def test_a_stage_without_websocket_api_gets_sensible_defaults():
    desired = desired_from_stage({}, lambda_name="site-dev", stage="dev", target=TARGET)

    assert desired.name == "site-dev-websocket"
    assert desired.description == "WebSocket API of site-dev"
    assert desired.route_keys == ("$connect", "$disconnect", "$default")
    assert desired.route_selection_expression == "$request.body.action"
    assert (desired.stage_name, desired.domain, dict(desired.tags)) == ("dev", None, {"zappa-function": "site-dev"})
    assert desired.throttling == Throttling(rate_limit=1000.0, burst_limit=500)


def test_websocket_api_settings_are_read():
    stage = {
        "websocket_api": {
            "name": "chat",
            "description": "Chat",
            "route_selection_expression": "$request.body.type",
            "routes": {"sendmessage": "", "typing": "/rooms/ws/typing"},
            "domain_name": "chat.example.com",
            "certificate_arn": CERTIFICATE,
            "hosted_zone_id": "Z123",
            "default_channel_name": "lobby",
            "throttling_rate_limit": 200,
            "throttling_burst_limit": 400,
        }
    }

    desired = desired_from_stage(stage, lambda_name="site-dev", stage="dev", target=TARGET)

    assert (desired.name, desired.description, desired.route_selection_expression) == (
        "chat",
        "Chat",
        "$request.body.type",
    )
    assert desired.route_keys == ("$connect", "$disconnect", "$default", "sendmessage", "typing")
    assert desired.domain == CustomDomain("chat.example.com", CERTIFICATE, "Z123")
    assert desired.throttling == Throttling(rate_limit=200, burst_limit=400)
    assert desired.environment("abc", "wss://chat.example.com") == {
        "WEBSOCKET_API_ID": "abc",
        "WEBSOCKET_STAGE": "dev",
        "WEBSOCKET_URL": "wss://chat.example.com",
        "WEBSOCKET_ROUTE_PATHS": '{"typing": "/rooms/ws/typing"}',
        "WEBSOCKET_DEFAULT_CHANNEL": "lobby",
    }


@pytest.mark.parametrize(
    ("two_way", "one_way"),
    [
        (None, frozenset()),
        (True, frozenset()),
        (False, frozenset({"$default", "sendmessage", "typing"})),
        (["sendmessage"], frozenset({"$default", "typing"})),
        ([], frozenset({"$default", "sendmessage", "typing"})),
    ],
)
def test_message_routes_are_two_way_unless_the_settings_say_otherwise(two_way, one_way):
    options = {"routes": ["sendmessage", "typing"]} | ({} if two_way is None else {"two_way": two_way})

    desired = desired_from_stage({"websocket_api": options}, lambda_name="site-dev", stage="dev", target=TARGET)

    assert desired.one_way_routes == one_way
    assert [key for key in desired.route_keys if desired.is_two_way(key)] == [
        key for key in ("$default", "sendmessage", "typing") if key not in one_way
    ]


def test_an_api_rows_routes_are_two_way_unless_switched_off(db):
    row = ApiGateway.objects.create(api_name="chat", two_way=False)
    ApiGatewayAdditionalRoute.objects.create(api_gateway=row, route_key="say")
    ApiGatewayAdditionalRoute.objects.create(api_gateway=row, route_key="quiet", two_way=False)

    desired = desired_from_row(row, TARGET)

    assert desired.one_way_routes == frozenset({"$default", "quiet"})
    assert [key for key in desired.route_keys if desired.is_two_way(key)] == ["say"]


@pytest.mark.parametrize(
    ("websocket_api", "message"),
    [
        ({"two_way": "yes"}, "two_way must be true, false or a list of route keys"),
        ({"two_way": ["$connect"]}, "two_way names '$connect': only $default and the routes given in routes"),
        ({"routes": ["a"], "two_way": ["b"]}, "two_way names 'b'"),
        ({"routes": "sendmessage"}, "routes must be a list of route keys or a mapping"),
        ({"routes": ["$connect"]}, "Invalid route key '$connect'"),
        ({"routes": ["a", "a"]}, "Route 'a' is given twice"),
        ({"routes": {"a": "relative"}}, "The path of route 'a' must be a Django path starting with '/'"),
        ({"domain_name": "chat.example.com"}, "domain_name needs certificate_arn"),
        (
            {"throttling_rate_limit": 0},
            "websocket_api.throttling_rate_limit must be a number of requests a second, 1 or more: 0",
        ),
        (
            {"throttling_burst_limit": "lots"},
            "websocket_api.throttling_burst_limit must be a whole number of 1 or more: 'lots'",
        ),
        ({"stage": "x"}, "Unknown websocket_api keys: stage"),
        ([], "websocket_api must be an object"),
    ],
)
def test_bad_websocket_api_settings_are_refused(websocket_api, message):
    with pytest.raises(click.ClickException, match=message.replace("$", r"\$")):
        desired_from_stage({"websocket_api": websocket_api}, lambda_name="site-dev", stage="dev", target=TARGET)


def test_a_route_mapped_to_a_path_is_posted_there():
    mapped = to_http_event(message_event(route_key="typing"), route_paths={"typing": "/rooms/ws/typing"})
    unmapped = to_http_event(message_event(route_key="sendmessage"), route_paths={"typing": "/rooms/ws/typing"})

    assert (mapped["path"], unmapped["path"]) == ("/rooms/ws/typing", "/ws/sendmessage")


@override_settings(WEBSOCKETS={"ROUTE_PATHS": {"typing": "/nowhere/typing"}})
def test_the_lambda_handler_uses_the_published_route_paths(lambda_handler):
    response = lambda_handler(message_event(route_key="typing"), None)

    assert response["statusCode"] == 404


def test_nothing_imports_zappa_websocket():
    """Importing it makes Zappa build a second WebSocket API of its own."""
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.glob("project/**/*.py"), *root.glob("websockets_app/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            if any(name == "zappa.websocket" or name.startswith("zappa.websocket.") for name in names):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_packaging_commands_collect_static_files_into_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("STATIC_ROOT", str(tmp_path))
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "runtime-venv"))  # what is packaged: no test-only packages
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"  # the Python the package is built with
    cli = types.SimpleNamespace(command="update", api_stage="dev", django_settings="project.settings", runtime=runtime)

    zappa_hooks.settings(cli)

    assert (tmp_path / "websockets_app" / "lambda-websocket.js").is_file()
    assert (tmp_path / "admin" / "css" / "base.css").is_file()


def test_other_commands_collect_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("STATIC_ROOT", str(tmp_path))

    zappa_hooks.settings(types.SimpleNamespace(command="tail", django_settings="project.settings"))

    assert list(tmp_path.iterdir()) == []


def test_a_failing_collectstatic_stops_the_deploy():
    with pytest.raises(click.ClickException, match="collectstatic failed"):
        zappa_hooks.collect_static("no_such_settings_module")
