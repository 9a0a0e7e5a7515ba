"""What ``create_api_gateway`` and ``create_custom_domain`` share: pick the row, run the reconcile, report."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from websockets_app.exceptions import ProvisioningError
from websockets_app.models import ApiGateway
from websockets_app.provisioning.records import provision


class ProvisioningCommand(BaseCommand):
    """Reconcile one ``ApiGateway`` row; on Lambda (``zappa manage``) the function integrates with itself."""

    include_domain = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pk", type=int, required=True, help="Primary key of the ApiGateway row.")
        parser.add_argument("--dry-run", action="store_true", help="Print the changes without making them.")
        parser.add_argument(
            "--function-name",
            default="",
            help="Lambda function the routes invoke (default: WEBSOCKETS['LAMBDA_FUNCTION_NAME'], or on Lambda "
            "the function running the command).",
        )
        if self.include_domain:
            parser.add_argument(
                "--take-over",
                action="store_true",
                help="Map the custom domain even if it serves another API, and replace a DNS record for it that "
                "points elsewhere (refused otherwise).",
            )

    def handle(self, *args: Any, pk: int, dry_run: bool, function_name: str, **options: Any) -> None:
        try:
            row = ApiGateway.objects.get(pk=pk)
        except ApiGateway.DoesNotExist:
            raise CommandError(f"No ApiGateway with pk={pk}.") from None
        try:
            outcome = provision(
                row,
                include_domain=self.include_domain,
                dry_run=dry_run,
                function_name=function_name,
                echo=self.stdout.write,
                take_over_domain=options.get("take_over", False),
            )
        except (ProvisioningError, ClientError, BotoCoreError) as error:
            raise CommandError(str(error)) from error
        if not dry_run:
            self.stdout.write(self.style.SUCCESS(f"WebSocket URL: {outcome.websocket_url}"))
