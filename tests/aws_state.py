"""Read back everything provisioning manages, as one plain dict the tests compare exactly.

moto accepts duplicate routes, stages and permission ids silently, so the state lists every item AWS holds
(never a set or a lookup by key): a duplicate shows up as a second entry and fails the comparison.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.exceptions import ClientError

REGION = "eu-west-1"
ACCOUNT = "123456789012"
# API Gateway's hosted zone for regional endpoints in eu-west-1, as AWS reports it for custom domains.
REGIONAL_ZONE_ID = "ZLY8HYME6SFDD"


def report_domain_targets(monkeypatch: Any) -> None:
    """Make moto answer like AWS: a regional domain reports the target name and zone its DNS alias must use."""
    from moto.apigatewayv2.models import DomainName

    original = DomainName.__init__

    def init(
        self: DomainName, domain_name: str, domain_name_configurations: list[dict[str, str]], *args: Any, **kwargs: Any
    ) -> None:
        configurations = [
            {
                **configuration,
                "apiGatewayDomainName": f"d-{domain_name.replace('.', '-')}.execute-api.{REGION}.amazonaws.com",
                "hostedZoneId": REGIONAL_ZONE_ID,
            }
            for configuration in domain_name_configurations
        ]
        original(self, domain_name, configurations, *args, **kwargs)

    monkeypatch.setattr(DomainName, "__init__", init)


def answer_route_responses(monkeypatch: Any) -> None:
    """Teach moto ``GetRouteResponses``, which it lacks, as AWS answers it: the route's route responses as ``items``.

    AWS API reference, "GetRouteResponses" (GET /v2/apis/{apiId}/routes/{routeId}/routeresponses); moto already
    creates, reads and deletes them one by one.
    """
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    def get_route_responses(self: ApiGatewayV2Response) -> tuple[int, dict[str, str], str]:
        api_id, route_id = self.path.split("/")[-4], self.path.split("/")[-2]
        route = self.apigatewayv2_backend.get_route(api_id, route_id)
        return 200, {}, json.dumps({"items": [item.to_json() for item in route.route_responses.values()]})

    monkeypatch.setattr(ApiGatewayV2Response, "get_route_responses", get_route_responses, raising=False)


def answer_stage_updates(monkeypatch: Any) -> None:
    """Teach moto ``UpdateStage``, which it lacks, as AWS answers it: the fields given change, the stage comes back.

    AWS API reference, "UpdateStage" (PATCH /v2/apis/{apiId}/stages/{stageName}, 200 with the stage):
    https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename.html. The reconcile
    sends a stage's whole ``DefaultRouteSettings``, so whether AWS replaces that object or merges into it, the stage
    ends up the same; here it is replaced.
    """
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    fields = {
        "autoDeploy": "auto_deploy",
        "description": "description",
        "defaultRouteSettings": "default_route_settings",
        "routeSettings": "route_settings",
        "stageVariables": "stage_variables",
    }

    def update_stage(self: ApiGatewayV2Response) -> tuple[int, dict[str, str], str]:
        api_id, stage_name = self.path.split("/")[-3], unquote(self.path.split("/")[-1])
        stage = self.apigatewayv2_backend.get_stage(api_id, stage_name)
        for key, value in json.loads(self.body).items():
            if key in fields:
                setattr(stage, fields[key], value)
        return 200, {}, json.dumps(stage.to_json())

    monkeypatch.setattr(ApiGatewayV2Response, "update_stage", update_stage, raising=False)


def aws_state(session: boto3.session.Session, *, function_name: str, role_name: str, zone_id: str) -> dict[str, Any]:
    gateway = session.client("apigatewayv2", region_name=REGION)
    apis = [api for api in gateway.get_apis()["Items"] if api["ProtocolType"] == "WEBSOCKET"]
    state: dict[str, Any] = {"apis": [_api_state(gateway, api) for api in apis]}
    domains = gateway.get_domain_names()["Items"]
    api_names = {api["ApiId"]: api["Name"] for api in apis}
    state["domains"] = [
        {
            "name": domain["DomainName"],
            "configurations": [
                {key: configuration.get(key) for key in ("CertificateArn", "EndpointType", "SecurityPolicy")}
                for configuration in domain["DomainNameConfigurations"]
            ],
            "mappings": [
                (api_names.get(item["ApiId"], item["ApiId"]), item["Stage"], item.get("ApiMappingKey", ""))
                for item in gateway.get_api_mappings(DomainName=domain["DomainName"])["Items"]
            ],
        }
        for domain in domains
    ]
    lambda_client = session.client("lambda", region_name=REGION)
    state["permissions"] = [
        (
            api_names.get(_sid_api_id(statement["Sid"]), statement["Sid"]),
            statement["Condition"]["ArnLike"]["AWS:SourceArn"],
        )
        for statement in _policy_statements(lambda_client, function_name)
        if statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    ]
    iam = session.client("iam")
    state["role_policies"] = {
        name: iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]["Statement"]
        for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
        if name.startswith("websocket-api-")
    }
    variables = lambda_client.get_function_configuration(FunctionName=function_name).get("Environment", {})
    state["environment"] = {
        key: value for key, value in variables.get("Variables", {}).items() if key.startswith("WEBSOCKET_")
    }
    records = session.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    state["dns"] = [
        (record["Name"], record["AliasTarget"]["DNSName"], record["AliasTarget"]["HostedZoneId"])
        for record in records
        if record["Type"] == "A"
    ]
    return state


def _api_state(gateway: Any, api: dict[str, Any]) -> dict[str, Any]:
    api_id = api["ApiId"]
    integrations = gateway.get_integrations(ApiId=api_id)["Items"]
    numbers = {f"integrations/{item['IntegrationId']}": f"integration {n}" for n, item in enumerate(integrations)}
    return {
        "name": api["Name"],
        "description": api.get("Description", ""),
        "route_selection_expression": api["RouteSelectionExpression"],
        "api_key_selection_expression": api["ApiKeySelectionExpression"],
        "tags": api.get("Tags", {}),
        "integrations": [(item["IntegrationType"], item["IntegrationUri"]) for item in integrations],
        # Each route: its key, integration, route response selection expression and route response keys.
        "routes": sorted(
            (
                route["RouteKey"],
                numbers.get(route.get("Target", ""), route.get("Target")),
                route.get("RouteResponseSelectionExpression") or None,
                [
                    item["RouteResponseKey"]
                    for item in gateway.get_route_responses(ApiId=api_id, RouteId=route["RouteId"])["Items"]
                ],
            )
            for route in gateway.get_routes(ApiId=api_id)["Items"]
        ),
        # Each stage: its name, whether it deploys every change, and its route throttling (rate, burst).
        "stages": [
            (
                stage["StageName"],
                stage.get("AutoDeploy", False),
                stage.get("DefaultRouteSettings", {}).get("ThrottlingRateLimit"),
                stage.get("DefaultRouteSettings", {}).get("ThrottlingBurstLimit"),
            )
            for stage in gateway.get_stages(ApiId=api_id)["Items"]
        ],
    }


def _policy_statements(lambda_client: Any, function_name: str) -> list[dict[str, Any]]:
    try:
        return json.loads(lambda_client.get_policy(FunctionName=function_name)["Policy"])["Statement"]
    except ClientError:
        return []


def _sid_api_id(sid: str) -> str:
    return sid.removeprefix("websocket-api-")
