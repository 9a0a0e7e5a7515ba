"""The reconcile run for an ``ApiGateway`` row: desired state from the row, what was provisioned back onto it.

The admin actions and the ``create_api_gateway`` / ``create_custom_domain`` commands are front-ends of this one
function, so an API made from the admin is made exactly as the Zappa hook makes it.
"""

from __future__ import annotations

import os

import boto3

from websockets_app.conf import conf
from websockets_app.exceptions import NoLambdaFunction, ProvisioningError
from websockets_app.models import ApiGateway
from websockets_app.provisioning.desired import CustomDomain, DesiredApi, LambdaTarget, Throttling
from websockets_app.provisioning.reconcile import Echo, ProvisioningOutcome, reconcile, resolve_target

__all__ = ("desired_from_row", "lambda_function_name", "one_way_routes", "provision")


def lambda_function_name(explicit: str = "") -> str:
    """The function to provision for: given, configured, or (on Lambda) the function running this code."""
    name = explicit or conf.LAMBDA_FUNCTION_NAME or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    if not name:
        raise NoLambdaFunction(
            "No Lambda function to integrate with: pass --function-name, set WEBSOCKETS['LAMBDA_FUNCTION_NAME'], "
            "or run the command on Lambda with `zappa manage`."
        )
    return name


def desired_from_row(row: ApiGateway, target: LambdaTarget, *, take_over_domain: bool = False) -> DesiredApi:
    domain = None
    if row.custom_domain_name:
        domain = CustomDomain(
            row.custom_domain_name, row.certificate_arn, row.hosted_zone_id, take_over=take_over_domain
        )
    return DesiredApi(
        name=row.api_name,
        target=target,
        description=row.api_description,
        route_selection_expression=row.route_selection_expression,
        api_key_selection_expression=row.api_key_selection_expression,
        tags={str(key): str(value) for key, value in (row.tags or {}).items()},
        routes={route.route_key: route.path for route in row.additional_routes.all()},
        stage_name=row.stage_name,
        stage_description=row.stage_description,
        default_channel_name=row.default_channel_name,
        domain=domain,
        one_way_routes=one_way_routes(row),
        throttling=Throttling(row.throttling_rate_limit, row.throttling_burst_limit),
    )


def one_way_routes(row: ApiGateway) -> frozenset[str]:
    """The row's message routes that are not answered: what provisioning makes one-way, and the emulator plays."""
    extra = {route.route_key for route in row.additional_routes.all() if not route.two_way}
    return frozenset(extra | ({"$default"} if not row.two_way else set()))


def provision(
    row: ApiGateway,
    *,
    include_domain: bool,
    dry_run: bool = False,
    function_name: str = "",
    echo: Echo = print,
    session: boto3.session.Session | None = None,
    take_over_domain: bool = False,
) -> ProvisioningOutcome:
    """Reconcile the row's API (and, with ``include_domain``, its custom domain) and record what AWS now has.

    ``take_over_domain``: map the domain even if it serves another API and replace a DNS record this app did not
    make (refused otherwise).
    """
    session = session or boto3.session.Session(region_name=row.aws_region or None)
    target = resolve_target(lambda_function_name(function_name), alias=row.lambda_alias, session=session)
    desired = desired_from_row(row, target, take_over_domain=take_over_domain)
    if include_domain and desired.domain is None:
        raise ProvisioningError(f"{row.api_name} has no custom domain name to create", ProvisioningOutcome())
    try:
        outcome = reconcile(
            desired,
            session=session,
            known_api_id=row.api_id,
            include_domain=include_domain,
            dry_run=dry_run,
            echo=echo,
        )
    except ProvisioningError as error:
        if not dry_run and isinstance(error.outcome, ProvisioningOutcome):
            _record(row, error.outcome, include_domain=include_domain)
        raise
    if not dry_run:
        _record(row, outcome, include_domain=include_domain)
    return outcome


def _record(row: ApiGateway, outcome: ProvisioningOutcome, *, include_domain: bool) -> None:
    row.api_id = outcome.api_id or row.api_id
    row.api_endpoint = outcome.api_endpoint if outcome.api_id else row.api_endpoint
    row.api_created = outcome.api_created
    fields = ["api_id", "api_endpoint", "api_created"]
    if include_domain:
        row.api_gateway_domain_name = outcome.api_gateway_domain_name
        row.api_mapping_id = outcome.api_mapping_id
        row.custom_domain_created = outcome.custom_domain_created
        fields += ["api_gateway_domain_name", "api_mapping_id", "custom_domain_created"]
    row.save(update_fields=fields)
