"""Provisioning of the WebSocket API: one idempotent reconcile, shared by the Zappa hooks, admin and commands.

``desired`` describes the API wanted, ``diff`` compares it with AWS (pure), ``reconcile`` reads AWS and applies the
difference with boto3, ``records`` ties it to the ``ApiGateway`` rows. Only the desired state is named here: it
needs neither boto3 nor Django, and the Zappa hooks import it before Django is set up.
"""

from websockets_app.provisioning.desired import CustomDomain, DesiredApi, LambdaTarget, Throttling, browser_url

__all__ = ("CustomDomain", "DesiredApi", "LambdaTarget", "Throttling", "browser_url")
