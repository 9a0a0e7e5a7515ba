"""The reconcile against moto: what one run creates, that a second run calls nothing, edits, failures, teardown."""

import dataclasses

import pytest
from botocore.exceptions import ClientError

from tests.aws_state import ACCOUNT, REGION, REGIONAL_ZONE_ID, aws_state
from websockets_app.exceptions import InvalidThrottling, ProvisioningError
from websockets_app.provisioning.desired import CustomDomain, DesiredApi, LambdaTarget, Throttling
from websockets_app.provisioning.reconcile import reconcile, teardown

CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/abc"


@pytest.fixture
def desired(aws):
    return DesiredApi(
        name="chat-dev-websocket",
        target=LambdaTarget(function_arn=aws.function_arn, role_arn=aws.role_arn),
        description="Chat",
        tags={"project": "chat"},
        routes={"sendmessage": "", "typing": "/rooms/ws/typing"},
        stage_name="dev",
    )


def run(aws, desired, **kwargs):
    lines: list[str] = []
    outcome = reconcile(desired, session=aws.session, echo=lines.append, **kwargs)
    return outcome, lines


def state(aws):
    return aws_state(aws.session, function_name=aws.function_name, role_name=aws.role_name, zone_id=aws.zone_id)


def route(key, *, two_way=True):
    """A route as the state reads it: message routes are two-way (a $default route response) unless told not."""
    if key in ("$connect", "$disconnect") or not two_way:
        return (key, "integration 0", None, [])
    return (key, "integration 0", "$default", ["$default"])


def expected_api(aws, desired, *, routes=("sendmessage", "typing"), one_way=(), throttling=(1000.0, 500)):
    return {
        "name": desired.name,
        "description": desired.description,
        "route_selection_expression": desired.route_selection_expression,
        "api_key_selection_expression": "$request.header.x-api-key",
        "tags": dict(desired.tags),
        "integrations": [
            (
                "AWS_PROXY",
                f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{aws.function_arn}/invocations",
            )
        ],
        "routes": sorted(
            route(key, two_way=key not in one_way) for key in ("$connect", "$default", "$disconnect", *routes)
        ),
        "stages": [("dev", True, throttling[0], throttling[1])],
    }


def test_first_run_provisions_everything_once(aws, desired):
    outcome, lines = run(aws, desired)

    api_id = outcome.api_id
    assert outcome.api_endpoint == f"wss://{api_id}.execute-api.{REGION}.amazonaws.com"
    assert outcome.websocket_url == f"wss://{api_id}.execute-api.{REGION}.amazonaws.com/dev"
    assert (outcome.api_created, outcome.custom_domain_created) == (True, False)
    assert lines == [
        "Reconciling WebSocket API chat-dev-websocket..",
        "  + api chat-dev-websocket",
        "  + integration AWS_PROXY",
        "  + route $connect",
        "  + route $disconnect",
        "  + route $default (two-way)",
        "  + route sendmessage (two-way)",
        "  + route typing (two-way)",
        "  + route response $default of route $default",
        "  + route response $default of route sendmessage",
        "  + route response $default of route typing",
        "  + stage dev (auto-deploy, throttled to 1000 requests/s, bursts of 500)",
        f"  + permission websocket-api-{api_id} (arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*)",
        f"  + role policy websocket-api-{api_id}-connections (chat-dev-ZappaLambdaExecutionRole)",
        "  ~ environment chat-dev (WEBSOCKET_API_ID, WEBSOCKET_ROUTE_PATHS, WEBSOCKET_STAGE, WEBSOCKET_URL)",
        "  14 changes made.",
    ]
    assert state(aws) == {
        "apis": [expected_api(aws, desired)],
        "domains": [],
        "permissions": [(desired.name, f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*")],
        "role_policies": {
            f"websocket-api-{api_id}-connections": [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:ManageConnections",
                    "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/dev/*/@connections/*",
                }
            ]
        },
        "environment": {
            "WEBSOCKET_API_ID": api_id,
            "WEBSOCKET_STAGE": "dev",
            "WEBSOCKET_URL": f"wss://{api_id}.execute-api.{REGION}.amazonaws.com/dev",
            "WEBSOCKET_ROUTE_PATHS": '{"typing": "/rooms/ws/typing"}',
        },
        "dns": [],
    }


def test_second_run_makes_no_write_call(aws, desired):
    first, _ = run(aws, desired)
    before = state(aws)
    aws.calls.clear()

    second, lines = run(aws, desired)

    assert aws.calls.writes == []
    assert second.changes == []
    assert lines == ["Reconciling WebSocket API chat-dev-websocket..", "  WebSocket API is up to date."]
    assert (second.api_id, second.api_created) == (first.api_id, True)
    assert state(aws) == before


def test_other_environment_variables_are_kept(aws, desired):
    run(aws, desired)

    variables = aws.session.client("lambda").get_function_configuration(FunctionName="chat-dev")["Environment"]
    assert variables["Variables"]["SECRET_KEY"] == "kept"


def test_edits_reach_aws(aws, desired):
    first, _ = run(aws, desired)
    edited = dataclasses.replace(
        desired,
        description="Chat rooms",
        route_selection_expression="$request.body.type",
        routes={"sendmessage": "", "is_typing": "/rooms/ws/typing"},  # "typing" renamed, "sendmessage" kept
    )
    aws.calls.clear()

    outcome, lines = run(aws, edited)

    assert outcome.api_id == first.api_id
    assert lines[1:] == [
        "  ~ api chat-dev-websocket (Description: 'Chat' -> 'Chat rooms', "
        "RouteSelectionExpression: '$request.body.action' -> '$request.body.type')",
        "  + route is_typing (two-way)",
        "  - route typing (no longer configured)",
        "  + route response $default of route is_typing",
        "  ~ environment chat-dev (WEBSOCKET_ROUTE_PATHS)",
        "  5 changes made.",
    ]
    assert sorted(aws.calls.writes) == [
        "CreateRoute",
        "CreateRouteResponse",
        "DeleteRoute",
        "UpdateApi",
        "UpdateFunctionConfiguration",
    ]
    assert state(aws)["apis"] == [expected_api(aws, edited, routes=("is_typing", "sendmessage"))]
    assert state(aws)["environment"]["WEBSOCKET_ROUTE_PATHS"] == '{"is_typing": "/rooms/ws/typing"}'


def test_removed_routes_and_tags_are_deleted(aws, desired):
    run(aws, desired)

    run(aws, dataclasses.replace(desired, routes={}, tags={}))

    api = state(aws)["apis"][0]
    assert api["routes"] == [route("$connect"), route("$default"), route("$disconnect")]
    assert api["tags"] == {}


def test_duplicates_left_by_someone_else_are_removed(aws, desired):
    outcome, _ = run(aws, desired)
    gateway = aws.session.client("apigatewayv2")
    integration = gateway.create_integration(ApiId=outcome.api_id, IntegrationType="AWS_PROXY", IntegrationUri="x")
    gateway.create_route(
        ApiId=outcome.api_id, RouteKey="sendmessage", Target=f"integrations/{integration['IntegrationId']}"
    )

    _, lines = run(aws, desired)

    assert lines[1:] == [
        "  - route sendmessage (duplicate)",
        f"  - integration {integration['IntegrationId']} (unused)",
        "  2 changes made.",
    ]
    assert state(aws)["apis"] == [expected_api(aws, desired)]


def test_a_failure_half_way_is_finished_by_the_next_run(aws, desired):
    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Slow down"}}, "CreateStage")

    aws.session.events.register("before-call.apigatewayv2.CreateStage", refuse)
    with pytest.raises(ProvisioningError, match="TooManyRequestsException") as failure:
        run(aws, desired)
    half_way = failure.value.outcome
    assert half_way.api_created is False
    assert [str(change) for change in half_way.changes][-1] == (
        "+ stage dev (auto-deploy, throttled to 1000 requests/s, bursts of 500)"
    )
    aws.session.events.unregister("before-call.apigatewayv2.CreateStage", refuse)
    aws.calls.clear()

    outcome, lines = run(aws, desired)

    assert outcome.api_id == half_way.api_id
    assert outcome.api_created is True
    assert [line.split(" (")[0] for line in lines[1:]] == [
        "  + stage dev",
        f"  + permission websocket-api-{outcome.api_id}",
        f"  + role policy websocket-api-{outcome.api_id}-connections",
        "  ~ environment chat-dev",
        "  4 changes made.",
    ]
    assert state(aws)["apis"] == [expected_api(aws, desired)]


def test_dry_run_prints_the_diff_and_changes_nothing(aws, desired):
    outcome, lines = run(aws, desired, dry_run=True)

    assert aws.calls.writes == []
    assert outcome.api_id == ""
    assert outcome.api_created is False
    assert lines[1] == "  + api chat-dev-websocket"
    assert lines[-1] == "  14 changes to make (dry run: nothing was changed)."
    assert lines[0] == "Planning WebSocket API chat-dev-websocket.."
    assert state(aws)["apis"] == []


def test_dry_run_of_an_edit_lists_only_the_edit(aws, desired):
    run(aws, desired)
    aws.calls.clear()

    _, lines = run(aws, dataclasses.replace(desired, routes={"sendmessage": ""}), dry_run=True)

    assert aws.calls.writes == []
    assert lines[1:] == [
        "  - route typing (no longer configured)",
        "  ~ environment chat-dev (WEBSOCKET_ROUTE_PATHS)",
        "  2 changes to make (dry run: nothing was changed).",
    ]


def test_a_route_made_one_way_loses_its_route_response_and_converges_back(aws, desired):
    run(aws, desired)
    one_way = dataclasses.replace(desired, one_way_routes=frozenset({"typing"}))
    aws.calls.clear()

    _, lines = run(aws, one_way)

    assert lines[1:] == [
        "  ~ route typing (one-way)",
        "  - route response $default of route typing (one-way route)",
        "  2 changes made.",
    ]
    assert sorted(aws.calls.writes) == ["DeleteRouteResponse", "UpdateRoute"]
    assert state(aws)["apis"] == [expected_api(aws, one_way, one_way=("typing",))]
    assert run(aws, one_way)[1][1:] == ["  WebSocket API is up to date."]

    _, lines = run(aws, desired)

    assert lines[1:] == [
        "  ~ route typing (two-way)",
        "  + route response $default of route typing",
        "  2 changes made.",
    ]
    assert state(aws)["apis"] == [expected_api(aws, desired)]


def test_an_api_provisioned_before_two_way_routes_converges(aws, desired):
    # What earlier versions made: every route one-way, no route response anywhere.
    run(aws, dataclasses.replace(desired, one_way_routes=frozenset({"$default", "sendmessage", "typing"})))
    assert state(aws)["apis"] == [expected_api(aws, desired, one_way=("$default", "sendmessage", "typing"))]

    _, lines = run(aws, desired)

    assert lines[1:] == [
        "  ~ route $default (two-way)",
        "  ~ route sendmessage (two-way)",
        "  ~ route typing (two-way)",
        "  + route response $default of route $default",
        "  + route response $default of route sendmessage",
        "  + route response $default of route typing",
        "  6 changes made.",
    ]
    assert state(aws)["apis"] == [expected_api(aws, desired)]


def test_route_responses_left_by_someone_else_are_removed(aws, desired):
    outcome, _ = run(aws, desired)
    gateway = aws.session.client("apigatewayv2")
    routes = {item["RouteKey"]: item["RouteId"] for item in gateway.get_routes(ApiId=outcome.api_id)["Items"]}
    gateway.create_route_response(ApiId=outcome.api_id, RouteId=routes["sendmessage"], RouteResponseKey="$default")
    gateway.create_route_response(ApiId=outcome.api_id, RouteId=routes["typing"], RouteResponseKey="custom")

    _, lines = run(aws, desired)

    assert lines[1:] == [
        "  - route response $default of route sendmessage (duplicate)",
        "  - route response custom of route typing (not the $default key)",
        "  2 changes made.",
    ]
    assert state(aws)["apis"] == [expected_api(aws, desired)]


def test_connect_and_disconnect_keep_what_aws_gives_them(aws, desired):
    outcome, _ = run(aws, desired)
    gateway = aws.session.client("apigatewayv2")
    connect = next(item for item in gateway.get_routes(ApiId=outcome.api_id)["Items"] if item["RouteKey"] == "$connect")
    gateway.update_route(ApiId=outcome.api_id, RouteId=connect["RouteId"], RouteResponseSelectionExpression="$default")
    aws.calls.clear()

    _, lines = run(aws, desired)

    assert lines[1:] == ["  WebSocket API is up to date."]
    assert aws.calls.writes == []


def with_domain(desired, name="chat.example.com"):
    return dataclasses.replace(desired, domain=CustomDomain(name=name, certificate_arn=CERTIFICATE))


def test_custom_domain_mapping_and_dns_alias(aws, desired):
    outcome, lines = run(aws, with_domain(desired))

    target = f"d-chat-example-com.execute-api.{REGION}.amazonaws.com"
    assert lines[-5:] == [
        "  + domain chat.example.com (regional)",
        f"  + mapping chat.example.com -> {outcome.api_id}/dev",
        f"  + dns record chat.example.com ({target})",
        "  ~ environment chat-dev (WEBSOCKET_API_ID, WEBSOCKET_ROUTE_PATHS, WEBSOCKET_STAGE, WEBSOCKET_URL)",
        "  17 changes made.",
    ]
    assert outcome.websocket_url == "wss://chat.example.com"
    assert (outcome.api_created, outcome.custom_domain_created) == (True, True)
    assert outcome.api_gateway_domain_name == target
    assert outcome.api_mapping_id
    found = state(aws)
    assert found["domains"] == [
        {
            "name": "chat.example.com",
            "configurations": [
                {"CertificateArn": CERTIFICATE, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
            ],
            "mappings": [(desired.name, "dev", "")],
        }
    ]
    assert found["dns"] == [("chat.example.com.", target, REGIONAL_ZONE_ID)]
    assert found["environment"]["WEBSOCKET_URL"] == "wss://chat.example.com"
    aws.calls.clear()

    again, _ = run(aws, with_domain(desired))

    assert aws.calls.writes == []
    assert again.api_mapping_id == outcome.api_mapping_id


def test_a_domain_no_longer_configured_is_removed(aws, desired):
    run(aws, with_domain(desired))

    _, lines = run(aws, desired)

    assert [line.split(" ->")[0].split(" (")[0] for line in lines[1:]] == [
        "  ~ environment chat-dev",
        "  - mapping chat.example.com",
        "  - dns record chat.example.com",
        "  - domain chat.example.com",
        "  4 changes made.",
    ]
    found = state(aws)
    assert (found["domains"], found["dns"]) == ([], [])


def test_a_stage_no_longer_configured_is_removed(aws, desired):
    outcome, _ = run(aws, desired)
    aws.session.client("apigatewayv2").create_stage(ApiId=outcome.api_id, StageName="old")

    _, lines = run(aws, desired)

    assert lines[1:] == ["  - stage old (no longer configured)", "  1 change made."]
    assert state(aws)["apis"] == [expected_api(aws, desired)]


def test_each_resource_is_read_once_per_run(aws, desired):
    run(aws, with_domain(desired))
    aws.session.client("apigatewayv2").create_domain_name(
        DomainName="other.example.com", DomainNameConfigurations=[{"CertificateArn": CERTIFICATE}]
    )
    aws.calls.clear()

    run(aws, with_domain(desired))

    reads = [name for name in aws.calls.operations if name in ("GetStages", "GetDomainNames", "GetApiMappings")]
    assert sorted(reads) == ["GetApiMappings", "GetApiMappings", "GetDomainNames", "GetStages"]


def test_create_api_gateway_alone_leaves_the_domain_alone(aws, desired):
    run(aws, with_domain(desired))
    aws.calls.clear()

    run(aws, desired, include_domain=False)

    assert aws.calls.writes == ["UpdateFunctionConfiguration"]
    assert [domain["name"] for domain in state(aws)["domains"]] == ["chat.example.com"]


def test_a_domain_not_made_yet_is_not_published(aws, desired):
    outcome, _ = run(aws, with_domain(desired), include_domain=False)

    execute_api_url = f"wss://{outcome.api_id}.execute-api.{REGION}.amazonaws.com/dev"
    assert outcome.websocket_url == execute_api_url
    assert state(aws)["environment"]["WEBSOCKET_URL"] == execute_api_url
    assert state(aws)["domains"] == []


def test_a_domain_made_earlier_stays_published_when_left_alone(aws, desired):
    run(aws, with_domain(desired))
    aws.calls.clear()

    outcome, _ = run(aws, with_domain(desired), include_domain=False)

    assert aws.calls.writes == []
    assert outcome.websocket_url == "wss://chat.example.com"
    assert state(aws)["environment"]["WEBSOCKET_URL"] == "wss://chat.example.com"


def test_teardown_removes_everything_and_is_idempotent(aws, desired):
    outcome, _ = run(aws, with_domain(desired))
    lines: list[str] = []

    teardown(with_domain(desired), session=aws.session, echo=lines.append)

    assert [line.split(" (")[0].split(" ->")[0] for line in lines] == [
        "Removing WebSocket API chat-dev-websocket..",
        "  - mapping chat.example.com",
        "  - dns record chat.example.com",
        "  - domain chat.example.com",
        f"  - permission websocket-api-{outcome.api_id}",
        f"  - role policy websocket-api-{outcome.api_id}-connections",
        "  - api chat-dev-websocket",
        "  6 changes made.",
    ]
    found = state(aws)
    assert {key: found[key] for key in ("apis", "domains", "permissions", "role_policies", "dns")} == {
        "apis": [],
        "domains": [],
        "permissions": [],
        "role_policies": {},
        "dns": [],
    }
    aws.calls.clear()

    teardown(with_domain(desired), session=aws.session, echo=lines.append)

    assert aws.calls.writes == []


def test_no_hosted_zone_for_the_domain_is_reported(aws, desired):
    with pytest.raises(ProvisioningError, match=r"No public Route 53 hosted zone holds chat\.example\.org") as failure:
        run(aws, with_domain(desired, "chat.example.org"))

    assert failure.value.outcome.api_created is True
    assert failure.value.outcome.custom_domain_created is False
    assert state(aws)["environment"] == {}


class TestThrottling:
    """The stage's route throttling: API Gateway's own first line, before a message reaches the Lambda."""

    def test_an_edit_reaches_aws_and_a_second_run_calls_nothing(self, aws, desired):
        run(aws, desired)
        slower = dataclasses.replace(desired, throttling=Throttling(rate_limit=50, burst_limit=100))
        aws.calls.clear()

        _, lines = run(aws, slower)
        writes = list(aws.calls.writes)
        aws.calls.clear()
        _, again = run(aws, slower)

        assert lines[1:] == [
            "  ~ stage dev (throttling: 1000 requests/s, bursts of 500 -> 50 requests/s, bursts of 100)",
            "  1 change made.",
        ]
        assert writes == ["UpdateStage"]
        assert again[1:] == ["  WebSocket API is up to date."]
        assert aws.calls.writes == []
        assert state(aws)["apis"] == [expected_api(aws, desired, throttling=(50.0, 100))]

    def test_a_stage_changed_by_hand_is_throttled_again_keeping_its_other_route_settings(self, aws, desired):
        outcome, _ = run(aws, desired)
        gateway = aws.session.client("apigatewayv2")
        by_hand = {"LoggingLevel": "INFO", "DataTraceEnabled": True, "ThrottlingRateLimit": 9000.0}
        gateway.update_stage(ApiId=outcome.api_id, StageName="dev", DefaultRouteSettings=by_hand)

        _, lines = run(aws, desired)

        assert lines[1:] == [
            "  ~ stage dev (throttling: 9000 requests/s, bursts of none -> 1000 requests/s, bursts of 500)",
            "  1 change made.",
        ]
        assert gateway.get_stage(ApiId=outcome.api_id, StageName="dev")["DefaultRouteSettings"] == {
            "LoggingLevel": "INFO",
            "DataTraceEnabled": True,
            "ThrottlingRateLimit": 1000.0,
            "ThrottlingBurstLimit": 500,
        }

    @pytest.mark.parametrize(
        ("rate", "burst", "message"),
        [
            (0, 500, "throttling_rate_limit must be a number of requests a second, 1 or more: 0"),
            (0.5, 500, "throttling_rate_limit must be a number of requests a second, 1 or more: 0.5"),
            ("fast", 500, "throttling_rate_limit must be a number of requests a second, 1 or more: 'fast'"),
            (True, 500, "throttling_rate_limit must be a number of requests a second, 1 or more: True"),
            (100, 0, "throttling_burst_limit must be a whole number of 1 or more: 0"),
            (100, 2.5, "throttling_burst_limit must be a whole number of 1 or more: 2.5"),
        ],
    )
    def test_a_throttling_that_would_stop_everything_or_means_nothing_is_refused(self, rate, burst, message):
        with pytest.raises(InvalidThrottling) as refused:
            Throttling(rate_limit=rate, burst_limit=burst)
        assert str(refused.value) == message
