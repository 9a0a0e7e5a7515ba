"""Provisioning of the WebSocket API: one idempotent reconcile, shared by the Zappa hooks, admin and commands.

``desired`` describes the API wanted, ``diff`` compares it with AWS (pure), ``reconcile`` reads AWS and applies
the difference with boto3.
"""

from websockets_app.provisioning.desired import CustomDomain, DesiredApi, InvalidRoutes, LambdaTarget, parse_routes
from websockets_app.provisioning.reconcile import Outcome, ProvisioningError, reconcile, resolve_target, teardown

__all__ = (
    "CustomDomain",
    "DesiredApi",
    "InvalidRoutes",
    "LambdaTarget",
    "Outcome",
    "ProvisioningError",
    "parse_routes",
    "reconcile",
    "resolve_target",
    "teardown",
)
