"""``manage.py create_api_gateway --pk=N [--dry-run]``: the row's WebSocket API, routes, stage and permissions."""

from websockets_app.management.provisioning_command import ProvisioningCommand


class Command(ProvisioningCommand):
    help = "Create or update the WebSocket API of an ApiGateway row so it matches the row (--dry-run to preview)."
