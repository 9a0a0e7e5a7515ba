"""``manage.py create_custom_domain --pk=N [--dry-run]``: the API as ``create_api_gateway`` makes it, and its domain."""

from websockets_app.management.provisioning_command import ProvisioningCommand


class Command(ProvisioningCommand):
    help = (
        "Create or update the WebSocket API of an ApiGateway row and its regional custom domain, API mapping and "
        "Route 53 alias (--dry-run to preview)."
    )
    include_domain = True
