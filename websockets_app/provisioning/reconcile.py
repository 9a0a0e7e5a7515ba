"""The boto3 part of provisioning: read what AWS has, apply the diff step by step, and say what was done.

Each step reads the resource it manages, asks :mod:`websockets_app.provisioning.diff` what to change, and
makes exactly those calls, printing each one as Zappa prints its own progress. Steps run in dependency order
(API, integration, routes and their route responses, stage, permission, role policy, domain, mapping, DNS,
environment), so a run that fails half-way leaves a state the next run reads and finishes, and the Lambda is told
a custom domain's URL only once that domain works.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from websockets_app.exceptions import ProvisioningError
from websockets_app.provisioning.desired import DesiredApi, LambdaTarget, browser_url
from websockets_app.provisioning.diff import (
    Change,
    delete_dns_record,
    diff_api,
    diff_dns_record,
    diff_domain,
    diff_environment,
    diff_integration,
    diff_mapping,
    diff_permission,
    diff_role_policy,
    diff_route_responses,
    diff_routes,
    diff_stage,
    diff_stale_integrations,
    diff_stale_stages,
    find_api,
    find_dns_record,
    permission_statement_id,
    role_policy_name,
    zone_for_domain,
)

__all__ = ("Echo", "ProvisioningOutcome", "reconcile", "resolve_target", "teardown")

Echo = Callable[[str], None]
# Stands for an id AWS has not handed out yet, in a dry run of something that does not exist.
NEW = "<new>"


@dataclass
class ProvisioningOutcome:
    """What a run left in AWS (or, on a dry run, would leave); flags are set only once their calls succeeded."""

    api_id: str = ""
    api_endpoint: str = ""
    websocket_url: str = ""
    api_gateway_domain_name: str = ""
    api_mapping_id: str = ""
    api_created: bool = False
    custom_domain_created: bool = False
    changes: list[Change] = field(default_factory=list)


def resolve_target(
    function_name: str, *, alias: str = "", session: boto3.session.Session | None = None
) -> LambdaTarget:
    """Look up the Lambda the routes invoke: its unqualified ARN and its execution role."""
    client = (session or boto3.session.Session()).client("lambda")
    configuration = client.get_function_configuration(FunctionName=function_name)
    if alias:
        client.get_alias(FunctionName=function_name, Name=alias)
    function_arn = ":".join(configuration["FunctionArn"].split(":")[:7])
    return LambdaTarget(function_arn=function_arn, role_arn=configuration["Role"], alias=alias)


def reconcile(
    desired: DesiredApi,
    *,
    session: boto3.session.Session | None = None,
    known_api_id: str = "",
    include_domain: bool = True,
    dry_run: bool = False,
    echo: Echo = print,
) -> ProvisioningOutcome:
    """Make AWS match ``desired``; with ``include_domain`` False the custom domain is left as it is."""
    run = _Run(desired, session, dry_run=dry_run, echo=echo)

    def steps() -> None:
        run.api(known_api_id)
        run.publish(run.domain() if include_domain else run.domain_in_use())
        if include_domain:
            run.remove_stale_domains()
        run.stale_stages()

    return run.perform(f"{'Planning' if dry_run else 'Reconciling'} WebSocket API {desired.name}..", steps)


def teardown(
    desired: DesiredApi,
    *,
    session: boto3.session.Session | None = None,
    known_api_id: str = "",
    dry_run: bool = False,
    echo: Echo = print,
) -> ProvisioningOutcome:
    """Delete what :func:`reconcile` made: mappings, domain, DNS record, permission, role policy and the API."""
    run = _Run(desired, session, dry_run=dry_run, echo=echo)
    heading = f"{'Planning the removal of' if dry_run else 'Removing'} WebSocket API {desired.name}.."
    return run.perform(heading, lambda: run.remove(known_api_id))


class _Run:
    """One reconcile or teardown: the clients, what was found so far, and the changes made."""

    def __init__(self, desired: DesiredApi, session: boto3.session.Session | None, *, dry_run: bool, echo: Echo):
        self.desired = desired
        self.dry_run = dry_run
        self.echo = echo
        self.outcome = ProvisioningOutcome()
        self.api_id = ""  # empty until the API exists (or, on a dry run, would)
        self.stages: list[dict[str, Any]] = []  # the API's stages as the run found them
        self._session = session or boto3.session.Session()
        self._clients: dict[str, Any] = {}

    def perform(self, heading: str, steps: Callable[[], None]) -> ProvisioningOutcome:
        """Print the heading, run the steps, sum up; AWS's refusals become :class:`ProvisioningError`."""
        self.echo(heading)
        try:
            steps()
        except ClientError as error:
            raise ProvisioningError(f"AWS refused a call: {error}", self.outcome) from error
        self.summarise()
        return self.outcome

    def client(self, service: str) -> Any:
        if service not in self._clients:
            region = None if service in ("iam", "route53") else self.desired.target.region
            self._clients[service] = self._session.client(service, region_name=region)
        return self._clients[service]

    # Reconcile steps.

    def api(self, known_api_id: str) -> None:
        gateway = self.client("apigatewayv2")
        api = find_api(_pages(gateway, "get_apis"), self.desired.name, known_api_id)
        created = self.apply(diff_api(self.desired, api))
        found = api if api is not None else (created[0] if created and not self.dry_run else None)
        self.api_id = found["ApiId"] if found else NEW
        self.outcome.api_id = "" if found is None else self.api_id
        region = self.desired.target.region
        host = found["ApiEndpoint"].split("://", 1)[-1] if found else f"{NEW}.execute-api.{region}.amazonaws.com"
        self.outcome.api_endpoint = f"wss://{host}"
        exists = api is not None

        integrations = _pages(gateway, "get_integrations", ApiId=self.api_id) if exists else []
        changes, integration_id = diff_integration(self.desired, self.api_id, integrations)
        created = self.apply(changes)
        if integration_id is None:
            integration_id = created[0]["IntegrationId"] if created and not self.dry_run else NEW
        routes = _pages(gateway, "get_routes", ApiId=self.api_id) if exists else []
        created = self.apply(diff_routes(self.desired, self.api_id, integration_id, routes))
        self.route_responses(routes, created)
        self.apply(diff_stale_integrations(self.api_id, integration_id, integrations))
        self.stages = _pages(gateway, "get_stages", ApiId=self.api_id) if exists else []
        self.apply(diff_stage(self.desired, self.api_id, self.stages))
        self.apply(diff_permission(self.desired, self.api_id, self.permission_statements()))
        self.apply(diff_role_policy(self.desired, self.api_id, self.role_policy()))
        self.outcome.api_created = not self.dry_run

    def route_responses(self, routes: list[dict[str, Any]], created: list[dict[str, Any]]) -> None:
        """Give each two-way message route its ``$default`` route response, and take any away from one-way ones."""
        route_ids: dict[str, str] = {}
        for route in [*routes, *(answer for answer in created if "RouteKey" in answer)]:
            route_ids.setdefault(route["RouteKey"], route["RouteId"])  # the first of a key is the one diff_routes kept
        gateway = self.client("apigatewayv2")
        for key in self.desired.message_route_keys:
            route_id = route_ids.get(key, NEW)
            responses = (
                [] if route_id == NEW else _pages(gateway, "get_route_responses", ApiId=self.api_id, RouteId=route_id)
            )
            self.apply(diff_route_responses(self.desired, self.api_id, key, route_id, responses))

    def domain(self) -> str:
        """Make and map the desired custom domain; returns its name once browsers can use it ("": none wanted)."""
        domain = self.desired.domain
        if domain is None:
            return ""
        existing = self.domain_name(domain.name)
        mappings = self.mappings(domain.name) if existing else []
        others = sorted(
            f"{item['ApiId']}/{item['Stage']}"
            for item in mappings
            if not item.get("ApiMappingKey") and item["ApiId"] != self.api_id
        )
        if others and not domain.take_over:
            raise ProvisioningError(
                f"Refused to take over {domain.name}: it is mapped to another API ({', '.join(others)}). Unmap it "
                "there, or allow it explicitly (create_custom_domain --take-over, or take_over_domain in the stage's "
                "websocket_api settings)",
                self.outcome,
            )
        created = self.apply(diff_domain(domain, existing))
        described = created[0] if created and not self.dry_run else existing
        changes, mapping_id = diff_mapping(domain.name, self.api_id, self.desired.stage_name, mappings)
        created = [response for response in self.apply(changes) if "ApiMappingId" in response]
        self.outcome.api_mapping_id = mapping_id or (created[0]["ApiMappingId"] if created else "")

        target_name, target_zone = _domain_target(described)
        if described is not None and not (target_name and target_zone):
            raise ProvisioningError(
                f"AWS did not report the regional target of {domain.name}: cannot point DNS at it", self.outcome
            )
        zone_id = domain.hosted_zone_id or self.zone_for(domain.name)
        record = find_dns_record(self.records(zone_id, domain.name), domain.name)
        if record is not None and not domain.take_over and not _aliases(record, target_name):
            raise ProvisioningError(
                f"Refused to overwrite the DNS record {domain.name} in zone {zone_id}: it points at "
                f"{_record_target(record)}, not at this API's domain. Remove it, or allow it explicitly "
                "(create_custom_domain --take-over, or take_over_domain in the stage's websocket_api settings)",
                self.outcome,
            )
        self.apply(diff_dns_record(domain.name, zone_id, target_name or NEW, target_zone or NEW, record))
        self.outcome.api_gateway_domain_name = target_name
        self.outcome.custom_domain_created = not self.dry_run
        return domain.name

    def domain_in_use(self) -> str:
        """The configured domain, left alone by this run, when it already maps to this API's stage; else ""."""
        domain = self.desired.domain
        if domain is None or self.api_id == NEW:
            return ""
        mapped = any(
            not item.get("ApiMappingKey") and item["ApiId"] == self.api_id and item["Stage"] == self.desired.stage_name
            for item in self.mappings(domain.name)
        )
        return domain.name if mapped else ""

    def publish(self, created_domain: str) -> None:
        """Tell the Lambda its API and the URL browsers use, keeping its other environment variables."""
        self.outcome.websocket_url = browser_url(self.outcome.api_endpoint, self.desired.stage_name, created_domain)
        variables = self.function_configuration().get("Environment", {}).get("Variables", {})
        self.apply(diff_environment(self.desired, self.api_id, self.outcome.websocket_url, variables))

    def remove_stale_domains(self) -> None:
        """Domains mapped to this API that are no longer wanted."""
        wanted = self.desired.domain.name if self.desired.domain else ""
        for name, mappings in self.mapped_domains(skip=wanted).items():
            self.remove_domain(name, mappings)

    def stale_stages(self) -> None:
        """Stages other than the desired one, from the list :meth:`api` read (creating that one adds no other)."""
        self.apply(diff_stale_stages(self.desired, self.api_id, self.stages))

    # Teardown.

    def remove(self, known_api_id: str) -> None:
        api = find_api(_pages(self.client("apigatewayv2"), "get_apis"), self.desired.name, known_api_id)
        self.api_id = api["ApiId"] if api else ""
        domains = self.mapped_domains()
        configured = self.desired.domain
        if configured and configured.name not in domains and self.domain_name(configured.name) is not None:
            domains[configured.name] = self.mappings(configured.name)
        for name in sorted(domains):
            self.remove_domain(name, domains[name])
        if api is None:
            return
        target = self.desired.target
        qualifier = {"Qualifier": target.alias} if target.alias else {}
        statement_id = permission_statement_id(self.api_id)
        if any(statement.get("Sid") == statement_id for statement in self.permission_statements()):
            params = {"FunctionName": target.function_arn, "StatementId": statement_id, **qualifier}
            self.apply([Change("delete", "permission", statement_id, "lambda", "remove_permission", params)])
        policy_name = role_policy_name(self.api_id)
        if self.role_policy() is not None:
            params = {"RoleName": target.role_name, "PolicyName": policy_name}
            self.apply([Change("delete", "role policy", policy_name, "iam", "delete_role_policy", params)])
        params = {"ApiId": self.api_id}
        self.apply([Change("delete", "api", self.desired.name, "apigatewayv2", "delete_api", params, self.api_id)])

    def remove_domain(self, name: str, mappings: list[dict[str, Any]]) -> None:
        """Unmap this API from the domain; once nothing else is mapped, delete the domain and its DNS alias."""
        ours = [item for item in mappings if self.api_id and item["ApiId"] == self.api_id]
        self.apply(
            Change(
                "delete",
                "mapping",
                f"{name} -> {item['ApiId']}/{item['Stage']}",
                "apigatewayv2",
                "delete_api_mapping",
                {"DomainName": name, "ApiMappingId": item["ApiMappingId"]},
            )
            for item in ours
        )
        if len(ours) < len(mappings):
            return
        target_name, _ = _domain_target(self.domain_name(name))
        configured = self.desired.domain
        zone_id = configured.hosted_zone_id if configured and configured.name == name else ""
        zone_id = zone_id or self.zone_for(name, required=False)
        record = find_dns_record(self.records(zone_id, name), name) if zone_id else None
        alias = (record or {}).get("AliasTarget") or {}
        if record and target_name and alias.get("DNSName", "").rstrip(".").lower() == target_name.lower():
            self.apply([delete_dns_record(zone_id, record)])
        self.apply([Change("delete", "domain", name, "apigatewayv2", "delete_domain_name", {"DomainName": name})])

    # Reads.

    def mapped_domains(self, *, skip: str = "") -> dict[str, list[dict[str, Any]]]:
        """Custom domains (but ``skip``) with a mapping to this API, each with all of its mappings."""
        if self.api_id in ("", NEW):
            return {}
        found = {}
        for domain in _pages(self.client("apigatewayv2"), "get_domain_names"):
            name = domain["DomainName"]
            if name != skip:
                mappings = self.mappings(name)
                if any(item["ApiId"] == self.api_id for item in mappings):
                    found[name] = mappings
        return found

    def mappings(self, domain_name: str) -> list[dict[str, Any]]:
        try:
            return _pages(self.client("apigatewayv2"), "get_api_mappings", DomainName=domain_name)
        except ClientError as error:
            if _error_code(error) == "NotFoundException":
                return []
            raise

    def domain_name(self, name: str) -> dict[str, Any] | None:
        try:
            domain: dict[str, Any] = self.client("apigatewayv2").get_domain_name(DomainName=name)
            return domain
        except ClientError as error:
            if _error_code(error) == "NotFoundException":
                return None
            raise

    def permission_statements(self) -> list[dict[str, Any]]:
        if self.api_id in ("", NEW):
            return []
        target = self.desired.target
        qualifier = {"Qualifier": target.alias} if target.alias else {}
        try:
            policy = self.client("lambda").get_policy(FunctionName=target.function_arn, **qualifier)
        except ClientError as error:
            if _error_code(error) == "ResourceNotFoundException":
                return []
            raise
        statements: list[dict[str, Any]] = json.loads(policy["Policy"]).get("Statement", [])
        return statements

    def role_policy(self) -> dict[str, Any] | None:
        if self.api_id in ("", NEW):
            return None
        try:
            response = self.client("iam").get_role_policy(
                RoleName=self.desired.target.role_name, PolicyName=role_policy_name(self.api_id)
            )
        except ClientError as error:
            if _error_code(error) == "NoSuchEntity":
                return None
            raise
        document: dict[str, Any] = response["PolicyDocument"]
        return document

    def function_configuration(self) -> dict[str, Any]:
        configuration: dict[str, Any] = self.client("lambda").get_function_configuration(
            FunctionName=self.desired.target.function_arn
        )
        return configuration

    def zone_for(self, domain_name: str, *, required: bool = True) -> str:
        zones = _pages(self.client("route53"), "list_hosted_zones", key="HostedZones")
        zone_id = zone_for_domain(zones, domain_name)
        if zone_id is None and required:
            raise ProvisioningError(
                f"No public Route 53 hosted zone holds {domain_name}: create one or set hosted_zone_id", self.outcome
            )
        return zone_id or ""

    def records(self, zone_id: str, name: str) -> list[dict[str, Any]]:
        response = self.client("route53").list_resource_record_sets(
            HostedZoneId=zone_id, StartRecordName=name, StartRecordType="A", MaxItems="1"
        )
        record_sets: list[dict[str, Any]] = response["ResourceRecordSets"]
        return record_sets

    # Writes.

    def apply(self, changes: Iterable[Change]) -> list[dict[str, Any]]:
        """Print each change and, unless this is a dry run, make its call; returns AWS's answers."""
        responses = []
        for change in changes:
            self.echo(f"  {change}")
            self.outcome.changes.append(change)
            if self.dry_run:
                continue
            client = self.client(change.service)
            if change.operation == "update_function_configuration":
                # Zappa's own update may still be in progress; Lambda refuses a second one until it ends.
                client.get_waiter("function_updated_v2").wait(FunctionName=change.params["FunctionName"])
            responses.append(getattr(client, change.operation)(**change.params))
        return responses

    def summarise(self) -> None:
        count = len(self.outcome.changes)
        if count == 0:
            self.echo("  WebSocket API is up to date.")
        elif self.dry_run:
            self.echo(f"  {count} change{'s' if count != 1 else ''} to make (dry run: nothing was changed).")
        else:
            self.echo(f"  {count} change{'s' if count != 1 else ''} made.")


def _pages(client: Any, operation: str, *, key: str = "Items", **params: Any) -> list[dict[str, Any]]:
    if client.can_paginate(operation):
        return [item for page in client.get_paginator(operation).paginate(**params) for item in page.get(key, [])]
    items: list[dict[str, Any]] = []
    while True:
        response = getattr(client, operation)(**params)
        items.extend(response.get(key, []))
        if not response.get("NextToken"):
            return items
        params = {**params, "NextToken": response["NextToken"]}


def _aliases(record: Mapping[str, Any], target_name: str) -> bool:
    """Whether a DNS record is an alias to API Gateway's regional name for the domain (what this code makes)."""
    alias = record.get("AliasTarget") or {}
    return bool(target_name) and alias.get("DNSName", "").rstrip(".").lower() == target_name.rstrip(".").lower()


def _record_target(record: Mapping[str, Any]) -> str:
    alias = record.get("AliasTarget") or {}
    if alias:
        return f"alias {alias.get('DNSName', '').rstrip('.')}"
    values = ", ".join(item.get("Value", "") for item in record.get("ResourceRecords") or [])
    return f"{record.get('Type', '?')} {values}".strip()


def _domain_target(domain: Mapping[str, Any] | None) -> tuple[str, str]:
    """API Gateway's regional name for a custom domain, and its hosted zone: what the DNS alias points at."""
    configuration = ((domain or {}).get("DomainNameConfigurations") or [{}])[0]
    return configuration.get("ApiGatewayDomainName", ""), configuration.get("HostedZoneId", "")


def _error_code(error: ClientError) -> str:
    code: str = error.response.get("Error", {}).get("Code", "")
    return code
