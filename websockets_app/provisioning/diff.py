"""The difference between a :class:`DesiredApi` and what AWS has, as a list of API calls to make.

Every function here is pure: it takes AWS's answers as boto3 returns them and gives back :class:`Change` values,
each naming one call. Nothing is created when it exists, nothing is updated when it already matches, and
whatever is extra (a removed route, a duplicate, a stale integration) is deleted, so running the result twice
changes nothing the second time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from websockets_app.provisioning.desired import (
    ROUTE_RESPONSE_KEY,
    ROUTE_RESPONSE_SELECTION_EXPRESSION,
    CustomDomain,
    DesiredApi,
    Throttling,
)

__all__ = (
    "Change",
    "api_arn",
    "delete_dns_record",
    "diff_api",
    "diff_dns_record",
    "diff_domain",
    "diff_environment",
    "diff_integration",
    "diff_mapping",
    "diff_permission",
    "diff_role_policy",
    "diff_route_responses",
    "diff_routes",
    "diff_stage",
    "diff_stale_integrations",
    "diff_stale_stages",
    "find_api",
    "find_dns_record",
    "permission_statement_id",
    "role_policy_name",
    "zone_for_domain",
)

Action = Literal["create", "update", "delete"]
_SYMBOLS = {"create": "+", "update": "~", "delete": "-"}
_PERMISSION_PRINCIPAL = "apigateway.amazonaws.com"


@dataclass(frozen=True)
class Change:
    """One call to AWS, described well enough to print it (``--dry-run``) or make it."""

    action: Action
    kind: str
    name: str
    service: str
    operation: str
    params: Mapping[str, Any] = field(default_factory=dict)
    detail: str = ""

    def __str__(self) -> str:
        text = f"{_SYMBOLS[self.action]} {self.kind} {self.name}"
        return f"{text} ({self.detail})" if self.detail else text


def api_arn(desired: DesiredApi, api_id: str) -> str:
    return f"arn:{desired.target.partition}:apigateway:{desired.target.region}::/apis/{api_id}"


def permission_statement_id(api_id: str) -> str:
    return f"websocket-api-{api_id}"


def role_policy_name(api_id: str) -> str:
    return f"websocket-api-{api_id}-connections"


def find_api(apis: Iterable[Mapping[str, Any]], name: str, api_id: str = "") -> Mapping[str, Any] | None:
    """The WebSocket API to manage: the one recorded by id if it still exists, else the first of that name."""
    websocket_apis = [api for api in apis if api.get("ProtocolType") == "WEBSOCKET"]
    for api in websocket_apis:
        if api_id and api["ApiId"] == api_id:
            return api
    return next((api for api in websocket_apis if api["Name"] == name), None)


def diff_api(desired: DesiredApi, api: Mapping[str, Any] | None) -> list[Change]:
    settings = {
        "Name": desired.name,
        "Description": desired.description,
        "RouteSelectionExpression": desired.route_selection_expression,
        "ApiKeySelectionExpression": desired.api_key_selection_expression,
    }
    if api is None:
        params = {**settings, "ProtocolType": "WEBSOCKET", "Tags": dict(desired.tags)}
        return [Change("create", "api", desired.name, "apigatewayv2", "create_api", params)]
    changed = {key: value for key, value in settings.items() if api.get(key, "") != value}
    changes = []
    if changed:
        detail = ", ".join(f"{key}: {api.get(key, '')!r} -> {value!r}" for key, value in changed.items())
        params = {"ApiId": api["ApiId"], **changed}
        changes.append(Change("update", "api", desired.name, "apigatewayv2", "update_api", params, detail))
    return changes + _diff_tags(desired, api["ApiId"], api.get("Tags") or {})


def _diff_tags(desired: DesiredApi, api_id: str, tags: Mapping[str, str]) -> list[Change]:
    resource = api_arn(desired, api_id)
    changes = []
    missing = {key: value for key, value in desired.tags.items() if tags.get(key) != value}
    if missing:
        params = {"ResourceArn": resource, "Tags": missing}
        changes.append(Change("update", "tags", ", ".join(sorted(missing)), "apigatewayv2", "tag_resource", params))
    extra = sorted(set(tags) - set(desired.tags))
    if extra:
        params = {"ResourceArn": resource, "TagKeys": extra}
        changes.append(Change("delete", "tags", ", ".join(extra), "apigatewayv2", "untag_resource", params))
    return changes


def diff_integration(
    desired: DesiredApi, api_id: str, integrations: Iterable[Mapping[str, Any]]
) -> tuple[list[Change], str | None]:
    """The one ``AWS_PROXY`` integration to the Lambda; returns the changes and the id to keep (None: new)."""
    uri = desired.target.integration_uri
    proxies = [item for item in integrations if item.get("IntegrationType") == "AWS_PROXY"]
    kept = next((item for item in proxies if item.get("IntegrationUri") == uri), proxies[0] if proxies else None)
    if kept is None:
        params = {
            "ApiId": api_id,
            "IntegrationType": "AWS_PROXY",
            "IntegrationMethod": "POST",
            "IntegrationUri": uri,
            "Description": "Every route invokes this Lambda",
        }
        return [Change("create", "integration", "AWS_PROXY", "apigatewayv2", "create_integration", params)], None
    if kept.get("IntegrationUri") != uri:
        params = {"ApiId": api_id, "IntegrationId": kept["IntegrationId"], "IntegrationUri": uri}
        change = Change("update", "integration", "AWS_PROXY", "apigatewayv2", "update_integration", params, uri)
        return [change], kept["IntegrationId"]
    return [], kept["IntegrationId"]


def diff_stale_integrations(api_id: str, keep_id: str, integrations: Iterable[Mapping[str, Any]]) -> list[Change]:
    """Integrations no route uses any more once every route targets ``keep_id``."""
    return [
        Change(
            "delete",
            "integration",
            item["IntegrationId"],
            "apigatewayv2",
            "delete_integration",
            {"ApiId": api_id, "IntegrationId": item["IntegrationId"]},
            "unused",
        )
        for item in integrations
        if item["IntegrationId"] != keep_id
    ]


def diff_routes(
    desired: DesiredApi, api_id: str, integration_id: str, routes: Iterable[Mapping[str, Any]]
) -> list[Change]:
    """Create missing routes, point existing ones at the integration (two-way or not), delete removed ones."""
    target = f"integrations/{integration_id}"
    by_key: dict[str, list[Mapping[str, Any]]] = {}
    for route in routes:
        by_key.setdefault(route["RouteKey"], []).append(route)
    changes = []
    for key in desired.route_keys:
        # $connect and $disconnect are left as AWS makes them; message routes are two-way or one-way as configured.
        is_message_route = key in desired.message_route_keys
        expression = ROUTE_RESPONSE_SELECTION_EXPRESSION if desired.is_two_way(key) else ""
        existing = by_key.pop(key, [])
        if not existing:
            params = {"ApiId": api_id, "RouteKey": key, "Target": target}
            if expression:
                params["RouteResponseSelectionExpression"] = expression
            detail = _way(expression) if is_message_route else ""
            changes.append(Change("create", "route", key, "apigatewayv2", "create_route", params, detail))
            continue
        first, *duplicates = existing
        changed: dict[str, str] = {}
        if first.get("Target") != target:
            changed["Target"] = target
        # AWS omits the expression when there is none; an empty string clears it (what Terraform's provider sends).
        if is_message_route and (first.get("RouteResponseSelectionExpression") or "") != expression:
            changed["RouteResponseSelectionExpression"] = expression
        if changed:
            params = {"ApiId": api_id, "RouteId": first["RouteId"], **changed}
            detail = ", ".join(target if name == "Target" else _way(value) for name, value in changed.items())
            changes.append(Change("update", "route", key, "apigatewayv2", "update_route", params, detail))
        changes.extend(_delete_route(api_id, route, "duplicate") for route in duplicates)
    for extra in by_key.values():
        changes.extend(_delete_route(api_id, route, "no longer configured") for route in extra)
    return changes


def diff_route_responses(
    desired: DesiredApi, api_id: str, route_key: str, route_id: str, responses: Iterable[Mapping[str, Any]]
) -> list[Change]:
    """A two-way route has exactly one ``$default`` route response; any other route has none."""
    wanted = desired.is_two_way(route_key)
    kept: Mapping[str, Any] | None = None
    changes = []
    for response in responses:
        if wanted and kept is None and response.get("RouteResponseKey") == ROUTE_RESPONSE_KEY:
            kept = response
            continue
        if not wanted:
            why = "one-way route"
        elif response.get("RouteResponseKey") != ROUTE_RESPONSE_KEY:
            why = f"not the {ROUTE_RESPONSE_KEY} key"
        else:
            why = "duplicate"
        params = {"ApiId": api_id, "RouteId": route_id, "RouteResponseId": response["RouteResponseId"]}
        name = f"{response.get('RouteResponseKey', '')} of route {route_key}"
        changes.append(Change("delete", "route response", name, "apigatewayv2", "delete_route_response", params, why))
    if wanted and kept is None:
        params = {"ApiId": api_id, "RouteId": route_id, "RouteResponseKey": ROUTE_RESPONSE_KEY}
        name = f"{ROUTE_RESPONSE_KEY} of route {route_key}"
        changes.insert(0, Change("create", "route response", name, "apigatewayv2", "create_route_response", params))
    return changes


def _way(expression: str) -> str:
    return "two-way" if expression else "one-way"


def _delete_route(api_id: str, route: Mapping[str, Any], why: str) -> Change:
    params = {"ApiId": api_id, "RouteId": route["RouteId"]}
    return Change("delete", "route", route["RouteKey"], "apigatewayv2", "delete_route", params, why)


def diff_stage(desired: DesiredApi, api_id: str, stages: Iterable[Mapping[str, Any]]) -> list[Change]:
    """The stage, deployed on every change and throttled as desired; other route settings (logging) are kept."""
    stage = next((item for item in stages if item["StageName"] == desired.stage_name), None)
    throttling = desired.throttling
    if stage is None:
        params = {
            "ApiId": api_id,
            "StageName": desired.stage_name,
            "AutoDeploy": True,
            "Description": desired.stage_description,
            "DefaultRouteSettings": throttling.route_settings,
        }
        detail = f"auto-deploy, throttled to {throttling}"
        return [Change("create", "stage", desired.stage_name, "apigatewayv2", "create_stage", params, detail)]
    changed: dict[str, Any] = {}
    details = []
    if not stage.get("AutoDeploy"):
        changed["AutoDeploy"] = True
        details.append("AutoDeploy: True")
    if stage.get("Description", "") != desired.stage_description:
        changed["Description"] = desired.stage_description
        details.append(f"Description: {desired.stage_description!r}")
    settings = stage.get("DefaultRouteSettings") or {}
    if not _throttled_as(settings, throttling):
        # The whole object, throttling changed and the rest as read: the same whether AWS replaces or merges it.
        changed["DefaultRouteSettings"] = {**settings, **throttling.route_settings}
        details.append(f"throttling: {_throttling_of(settings)} -> {throttling}")
    if not changed:
        return []
    params = {"ApiId": api_id, "StageName": desired.stage_name, **changed}
    return [Change("update", "stage", desired.stage_name, "apigatewayv2", "update_stage", params, ", ".join(details))]


def _throttled_as(settings: Mapping[str, Any], throttling: Throttling) -> bool:
    rate, burst = settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
    return rate is not None and float(rate) == float(throttling.rate_limit) and burst == throttling.burst_limit


def _throttling_of(settings: Mapping[str, Any]) -> str:
    rate, burst = settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
    if rate is None and burst is None:
        return "none"
    return f"{float(rate or 0):g} requests/s, bursts of {burst if burst is not None else 'none'}"


def diff_stale_stages(desired: DesiredApi, api_id: str, stages: Iterable[Mapping[str, Any]]) -> list[Change]:
    return [
        Change(
            "delete",
            "stage",
            stage["StageName"],
            "apigatewayv2",
            "delete_stage",
            {"ApiId": api_id, "StageName": stage["StageName"]},
            "no longer configured",
        )
        for stage in stages
        if stage["StageName"] != desired.stage_name
    ]


def diff_permission(desired: DesiredApi, api_id: str, statements: Iterable[Mapping[str, Any]]) -> list[Change]:
    """``lambda:InvokeFunction`` for API Gateway, from this API only."""
    statement_id = permission_statement_id(api_id)
    source_arn = desired.source_arn(api_id)
    qualifier = {"Qualifier": desired.target.alias} if desired.target.alias else {}
    function = desired.target.function_arn
    add = Change(
        "create",
        "permission",
        statement_id,
        "lambda",
        "add_permission",
        {
            "FunctionName": function,
            "StatementId": statement_id,
            "Action": "lambda:InvokeFunction",
            "Principal": _PERMISSION_PRINCIPAL,
            "SourceArn": source_arn,
            **qualifier,
        },
        source_arn,
    )
    existing = next((item for item in statements if item.get("Sid") == statement_id), None)
    if existing is None:
        return [add]
    if _statement_matches(existing, source_arn):
        return []
    remove = Change(
        "delete",
        "permission",
        statement_id,
        "lambda",
        "remove_permission",
        {"FunctionName": function, "StatementId": statement_id, **qualifier},
        "replaced",
    )
    return [remove, add]


def _statement_matches(statement: Mapping[str, Any], source_arn: str) -> bool:
    principal = statement.get("Principal")
    service = principal.get("Service") if isinstance(principal, dict) else principal
    condition = statement.get("Condition") or {}
    return (
        statement.get("Effect") == "Allow"
        and statement.get("Action") == "lambda:InvokeFunction"
        and service == _PERMISSION_PRINCIPAL
        and (condition.get("ArnLike") or {}).get("AWS:SourceArn") == source_arn
    )


def diff_role_policy(desired: DesiredApi, api_id: str, document: Mapping[str, Any] | None) -> list[Change]:
    """``execute-api:ManageConnections`` on this API's stage for the Lambda's role, nothing wider."""
    wanted = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "execute-api:ManageConnections",
                "Resource": desired.connections_arn(api_id),
            }
        ],
    }
    if document == wanted:
        return []
    name = role_policy_name(api_id)
    params = {"RoleName": desired.target.role_name, "PolicyName": name, "PolicyDocument": json.dumps(wanted)}
    action: Action = "create" if document is None else "update"
    return [Change(action, "role policy", name, "iam", "put_role_policy", params, desired.target.role_name)]


def diff_environment(
    desired: DesiredApi, api_id: str, websocket_url: str, variables: Mapping[str, str]
) -> list[Change]:
    """Merge the API's identity into the Lambda's environment, keeping every other variable."""
    wanted = desired.environment(api_id, websocket_url)
    changed = sorted(key for key, value in wanted.items() if variables.get(key) != value)
    if not changed:
        return []
    params = {
        "FunctionName": desired.target.function_arn,
        "Environment": {"Variables": {**variables, **wanted}},
    }
    name = desired.target.function_arn.rsplit(":", 1)[-1]
    return [
        Change("update", "environment", name, "lambda", "update_function_configuration", params, ", ".join(changed))
    ]


def diff_domain(domain: CustomDomain, existing: Mapping[str, Any] | None) -> list[Change]:
    configuration = {
        "CertificateArn": domain.certificate_arn,
        "EndpointType": "REGIONAL",
        "SecurityPolicy": "TLS_1_2",
    }
    if existing is None:
        params = {"DomainName": domain.name, "DomainNameConfigurations": [configuration]}
        return [Change("create", "domain", domain.name, "apigatewayv2", "create_domain_name", params, "regional")]
    current = (existing.get("DomainNameConfigurations") or [{}])[0]
    if all(current.get(key) == value for key, value in configuration.items()):
        return []
    params = {"DomainName": domain.name, "DomainNameConfigurations": [configuration]}
    return [Change("update", "domain", domain.name, "apigatewayv2", "update_domain_name", params, "certificate")]


def diff_mapping(
    domain_name: str, api_id: str, stage_name: str, mappings: Iterable[Mapping[str, Any]]
) -> tuple[list[Change], str | None]:
    """The domain's root maps to this API's stage; returns the changes and the mapping id kept (None: new)."""
    root = [item for item in mappings if not item.get("ApiMappingKey")]
    kept = next((item for item in root if item["ApiId"] == api_id and item["Stage"] == stage_name), None)
    changes = [
        Change(
            "delete",
            "mapping",
            f"{domain_name} -> {item['ApiId']}/{item['Stage']}",
            "apigatewayv2",
            "delete_api_mapping",
            {"DomainName": domain_name, "ApiMappingId": item["ApiMappingId"]},
            "duplicate" if item["ApiId"] == api_id and item["Stage"] == stage_name else "replaced",
        )
        for item in root
        if item is not kept
    ]
    if kept is not None:
        return changes, kept["ApiMappingId"]
    params = {"DomainName": domain_name, "ApiId": api_id, "Stage": stage_name}
    name = f"{domain_name} -> {api_id}/{stage_name}"
    return [*changes, Change("create", "mapping", name, "apigatewayv2", "create_api_mapping", params)], None


def zone_for_domain(zones: Iterable[Mapping[str, Any]], domain_name: str) -> str | None:
    """The public hosted zone whose name is the longest suffix of the domain (its id without /hostedzone/)."""
    wanted = domain_name.rstrip(".").lower()
    best: tuple[int, str] | None = None
    for zone in zones:
        if (zone.get("Config") or {}).get("PrivateZone"):
            continue
        zone_name = zone["Name"].rstrip(".").lower()
        if (wanted == zone_name or wanted.endswith("." + zone_name)) and (best is None or len(zone_name) > best[0]):
            best = (len(zone_name), zone["Id"].rsplit("/", 1)[-1])
    return best[1] if best else None


def find_dns_record(records: Iterable[Mapping[str, Any]], domain_name: str) -> Mapping[str, Any] | None:
    wanted = domain_name.rstrip(".").lower() + "."
    return next((item for item in records if item["Name"].lower() == wanted and item["Type"] == "A"), None)


def diff_dns_record(
    domain_name: str, zone_id: str, target_name: str, target_zone_id: str, record: Mapping[str, Any] | None
) -> list[Change]:
    """An A alias record from the custom domain to API Gateway's regional domain name."""
    alias = {"HostedZoneId": target_zone_id, "DNSName": target_name, "EvaluateTargetHealth": False}
    if record is not None:
        current = record.get("AliasTarget") or {}
        if (
            current.get("HostedZoneId") == target_zone_id
            and current.get("DNSName", "").rstrip(".").lower() == target_name.rstrip(".").lower()
        ):
            return []
    record_set = {"Name": domain_name, "Type": "A", "AliasTarget": alias}
    params = _record_batch(zone_id, "UPSERT", record_set)
    action: Action = "create" if record is None else "update"
    return [Change(action, "dns record", domain_name, "route53", "change_resource_record_sets", params, target_name)]


def delete_dns_record(zone_id: str, record: Mapping[str, Any]) -> Change:
    params = _record_batch(zone_id, "DELETE", record)
    name = record["Name"].rstrip(".")
    return Change("delete", "dns record", name, "route53", "change_resource_record_sets", params)


def _record_batch(zone_id: str, action: str, record_set: Mapping[str, Any]) -> dict[str, Any]:
    return {"HostedZoneId": zone_id, "ChangeBatch": {"Changes": [{"Action": action, "ResourceRecordSet": record_set}]}}
