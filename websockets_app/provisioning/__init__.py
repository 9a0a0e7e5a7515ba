"""Provisioning of the WebSocket API: one idempotent reconcile, shared by the Zappa hooks, admin and commands.

``desired`` describes the API wanted, ``diff`` compares it with AWS (pure), ``reconcile`` reads AWS and applies
the difference with boto3, ``records`` ties it to the ``ApiGateway`` rows. Import the module you need: the
models use ``desired`` without paying for boto3.
"""
