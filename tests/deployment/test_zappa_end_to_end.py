"""The real ``zappa`` CLI against a local moto server: deploy, update, undeploy and the AWS state after each.

Zappa packages the project copied into a temporary directory with an empty virtualenv (the Lambda is never
invoked, so its dependencies need not be shipped), which keeps each command to seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws_state import ACCOUNT, REGION, REGIONAL_ZONE_ID, aws_state

REPO = Path(__file__).resolve().parents[2]
ZAPPA = Path(sys.executable).parent / "zappa"
STAGE = "e2e"
LAMBDA_NAME = "ws-e2e-e2e"
ROLE_NAME = f"{LAMBDA_NAME}-ZappaLambdaExecutionRole"
API_NAME = f"{LAMBDA_NAME}-websocket"
CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/e2e"

pytestmark = pytest.mark.skipif(not ZAPPA.exists(), reason="the zappa CLI is not installed in this environment")


@pytest.fixture
def project(tmp_path):
    """The project as Zappa would see it, with a stage made for moto and an empty virtualenv to package."""
    directory = tmp_path / "ws-e2e"
    for name in ("project", "websockets_app"):
        shutil.copytree(REPO / name, directory / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "manage.py", directory / "manage.py")
    venv = tmp_path / "venv"
    (venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages").mkdir(parents=True)
    return directory, venv


def write_settings(directory: Path, websocket_api: dict[str, Any] | None) -> None:
    stage: dict[str, Any] = {
        "project_name": "ws-e2e",
        "django_settings": "project.settings",
        "lambda_handler": "project.lambda_handler.lambda_handler",
        "aws_region": REGION,
        "runtime": f"python{sys.version_info.major}.{sys.version_info.minor}",  # what zappa runs on
        "s3_bucket": "ws-e2e-deployments",
        "touch": False,
        "keep_warm": False,
        "use_precompiled_packages": False,
        "apigateway_enabled": True,
        "callbacks": {
            "settings": "websockets_app.deployment.zappa_hooks.settings",
            "zip": "websockets_app.deployment.zappa_hooks.slim_package",
            "post": "websockets_app.deployment.zappa_hooks.post",
        },
    }
    if websocket_api is not None:
        stage["websocket_api"] = websocket_api
    (directory / "zappa_settings.json").write_text(json.dumps({STAGE: stage}, indent=4))


def zappa(directory: Path, venv: Path, *args: str) -> str:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "DJANGO_", "VIRTUAL_ENV"))
    }
    environment.update(
        VIRTUAL_ENV=str(venv),
        AWS_ENDPOINT_URL=os.environ["AWS_ENDPOINT_URL"],
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
    )
    result = subprocess.run(
        [str(ZAPPA), *args], cwd=directory, env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def reconcile_report(output: str) -> list[str]:
    """The lines the ``post`` hook printed, from its heading to the WebSocket URL."""
    lines = output.splitlines()
    start = lines.index(f"Reconciling WebSocket API {API_NAME}..")
    end = next(n for n in range(start, len(lines)) if lines[n].startswith("WebSocket URL: "))
    return lines[start + 1 : end + 1]


def expected_route(key: str, *, two_way: bool) -> tuple[str, str, str | None, list[str]]:
    """A route as aws_state reads it: a two-way one has the $default route response and selects it."""
    return (key, "integration 0", "$default", ["$default"]) if two_way else (key, "integration 0", None, [])


def expected_state(
    api_id: str,
    *,
    routes: dict[str, str],
    description: str,
    domain: str = "",
    one_way: tuple[str, ...] = (),
    throttling: tuple[float | None, int | None] = (1000.0, 500),
) -> dict[str, Any]:
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{LAMBDA_NAME}"
    integration = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    url = f"wss://{domain}" if domain else f"wss://{api_id}.execute-api.{REGION}.amazonaws.com/{STAGE}"
    target = f"d-{domain.replace('.', '-')}.execute-api.{REGION}.amazonaws.com"
    return {
        "apis": [
            {
                "name": API_NAME,
                "description": description,
                "route_selection_expression": "$request.body.action",
                "api_key_selection_expression": "$request.header.x-api-key",
                "tags": {"zappa-function": LAMBDA_NAME},
                "integrations": [("AWS_PROXY", integration)],
                "routes": sorted(
                    [expected_route(key, two_way=False) for key in ("$connect", "$disconnect")]
                    + [expected_route(key, two_way=key not in one_way) for key in ("$default", *routes)]
                ),
                "stages": [(STAGE, True, *throttling)],
            }
        ],
        "domains": [
            {
                "name": domain,
                "configurations": [
                    {"CertificateArn": CERTIFICATE, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
                ],
                "mappings": [(API_NAME, STAGE, "")],
            }
        ]
        if domain
        else [],
        "permissions": [(API_NAME, f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*")],
        "role_policies": {
            f"websocket-api-{api_id}-connections": [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:ManageConnections",
                    "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/{STAGE}/*/@connections/*",
                }
            ]
        },
        "environment": {
            "WEBSOCKET_API_ID": api_id,
            "WEBSOCKET_STAGE": STAGE,
            "WEBSOCKET_URL": url,
            "WEBSOCKET_ROUTE_PATHS": json.dumps({key: path for key, path in sorted(routes.items()) if path}),
        },
        "dns": [(f"{domain}.", target, REGIONAL_ZONE_ID)] if domain else [],
    }


def test_zappa_deploy_update_undeploy(moto_server, project):
    directory, venv = project
    session = boto3.session.Session(region_name=REGION)
    zone = session.client("route53").create_hosted_zone(Name="example.com", CallerReference="e2e")["HostedZone"]
    zone_id = zone["Id"].rsplit("/", 1)[-1]

    def state() -> dict[str, Any]:
        return aws_state(session, function_name=LAMBDA_NAME, role_name=ROLE_NAME, zone_id=zone_id)

    # deploy, with no websocket_api settings at all: a working API with the defaults.
    write_settings(directory, None)
    report = reconcile_report(zappa(directory, venv, "deploy", STAGE))
    api_id = session.client("apigatewayv2").get_apis()["Items"][0]["ApiId"]
    default_description = f"WebSocket API of {LAMBDA_NAME}"
    assert report == [
        f"  + api {API_NAME}",
        "  + integration AWS_PROXY",
        "  + route $connect",
        "  + route $disconnect",
        "  + route $default (two-way)",
        "  + route response $default of route $default",
        f"  + stage {STAGE} (auto-deploy, throttled to 1000 requests/s, bursts of 500)",
        f"  + permission websocket-api-{api_id} (arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*)",
        f"  + role policy websocket-api-{api_id}-connections ({ROLE_NAME})",
        f"  ~ environment {LAMBDA_NAME} (WEBSOCKET_API_ID, WEBSOCKET_ROUTE_PATHS, WEBSOCKET_STAGE, WEBSOCKET_URL)",
        "  10 changes made.",
        f"WebSocket URL: wss://{api_id}.execute-api.{REGION}.amazonaws.com/{STAGE}",
    ]
    deployed = expected_state(api_id, routes={}, description=default_description)
    assert state() == deployed
    # Zappa's own REST API is there too, and it made no WebSocket API of its own.
    assert [api["name"] for api in session.client("apigateway").get_rest_apis()["items"]] == [LAMBDA_NAME]

    # update, twice: nothing to change, no call made.
    for _ in range(2):
        report = reconcile_report(zappa(directory, venv, "update", STAGE))
        assert report == [
            "  WebSocket API is up to date.",
            f"WebSocket URL: wss://{api_id}.execute-api.{REGION}.amazonaws.com/{STAGE}",
        ]
        assert state() == deployed

    # A deployment made before routes were two-way (no route response, no selection expression) and before its
    # stage was throttled (AWS's route settings of a new stage) converges.
    gateway = session.client("apigatewayv2")
    default_route = next(item for item in gateway.get_routes(ApiId=api_id)["Items"] if item["RouteKey"] == "$default")
    for response in gateway.get_route_responses(ApiId=api_id, RouteId=default_route["RouteId"])["Items"]:
        gateway.delete_route_response(
            ApiId=api_id, RouteId=default_route["RouteId"], RouteResponseId=response["RouteResponseId"]
        )
    gateway.update_route(ApiId=api_id, RouteId=default_route["RouteId"], RouteResponseSelectionExpression="")
    unthrottled = {"DataTraceEnabled": False, "DetailedMetricsEnabled": False, "LoggingLevel": "ERROR"}
    gateway.update_stage(ApiId=api_id, StageName=STAGE, DefaultRouteSettings=unthrottled)
    assert state() == expected_state(
        api_id, routes={}, description=default_description, one_way=("$default",), throttling=(None, None)
    )
    report = reconcile_report(zappa(directory, venv, "update", STAGE))
    assert report == [
        "  ~ route $default (two-way)",
        "  + route response $default of route $default",
        f"  ~ stage {STAGE} (throttling: none -> 1000 requests/s, bursts of 500)",
        "  3 changes made.",
        f"WebSocket URL: wss://{api_id}.execute-api.{REGION}.amazonaws.com/{STAGE}",
    ]
    assert state() == deployed
    assert gateway.get_stage(ApiId=api_id, StageName=STAGE)["DefaultRouteSettings"]["LoggingLevel"] == "ERROR"

    # update with routes (one mapped to a Django path), a description and a custom domain added.
    write_settings(
        directory,
        {
            "description": "Chat",
            "routes": {"sendmessage": "", "typing": "/ws/typing"},
            "domain_name": "chat.example.com",
            "certificate_arn": CERTIFICATE,
            "throttling_rate_limit": 50,
            "throttling_burst_limit": 100,
        },
    )
    report = reconcile_report(zappa(directory, venv, "update", STAGE))
    assert report == [
        f"  ~ api {API_NAME} (Description: '{default_description}' -> 'Chat')",
        "  + route sendmessage (two-way)",
        "  + route typing (two-way)",
        "  + route response $default of route sendmessage",
        "  + route response $default of route typing",
        f"  ~ stage {STAGE} (throttling: 1000 requests/s, bursts of 500 -> 50 requests/s, bursts of 100)",
        "  + domain chat.example.com (regional)",
        f"  + mapping chat.example.com -> {api_id}/{STAGE}",
        f"  + dns record chat.example.com (d-chat-example-com.execute-api.{REGION}.amazonaws.com)",
        f"  ~ environment {LAMBDA_NAME} (WEBSOCKET_ROUTE_PATHS, WEBSOCKET_URL)",
        "  10 changes made.",
        "WebSocket URL: wss://chat.example.com",
    ]
    routes = {"sendmessage": "", "typing": "/ws/typing"}
    assert state() == expected_state(
        api_id, routes=routes, description="Chat", domain="chat.example.com", throttling=(50.0, 100)
    )

    # update with a route removed, and only sendmessage answered.
    write_settings(
        directory,
        {
            "description": "Chat",
            "routes": ["sendmessage"],
            "two_way": ["sendmessage"],
            "domain_name": "chat.example.com",
            "certificate_arn": CERTIFICATE,
            "throttling_rate_limit": 50,
            "throttling_burst_limit": 100,
        },
    )
    report = reconcile_report(zappa(directory, venv, "update", STAGE))
    assert report == [
        "  ~ route $default (one-way)",
        "  - route typing (no longer configured)",
        "  - route response $default of route $default (one-way route)",
        f"  ~ environment {LAMBDA_NAME} (WEBSOCKET_ROUTE_PATHS)",
        "  4 changes made.",
        "WebSocket URL: wss://chat.example.com",
    ]
    routes = {"sendmessage": ""}
    assert state() == expected_state(
        api_id,
        routes=routes,
        description="Chat",
        domain="chat.example.com",
        one_way=("$default",),
        throttling=(50.0, 100),
    )

    # undeploy: the WebSocket API, its domain, mapping, DNS record, permission and role policy are gone.
    output = zappa(directory, venv, "undeploy", STAGE, "--yes")
    assert [line.split(" (")[0].split(" ->")[0] for line in output.splitlines() if line.startswith("  ")][:7] == [
        "  - mapping chat.example.com",
        "  - dns record chat.example.com",
        "  - domain chat.example.com",
        f"  - permission websocket-api-{api_id}",
        f"  - role policy websocket-api-{api_id}-connections",
        f"  - api {API_NAME}",
        "  6 changes made.",
    ]
    gateway = session.client("apigatewayv2")
    assert gateway.get_apis()["Items"] == []
    assert gateway.get_domain_names()["Items"] == []
    records = session.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert sorted(record["Type"] for record in records) == ["NS", "SOA"]
    assert session.client("lambda").list_functions()["Functions"] == []
    assert session.client("iam").list_role_policies(RoleName=ROLE_NAME)["PolicyNames"] == ["zappa-permissions"]
