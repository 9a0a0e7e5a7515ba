"""``manage.py clear_websocket_sessions`` (also ``zappa manage STAGE clear_websocket_sessions``)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from websockets_app.aws_limits import IDLE_TIMEOUT, MAX_CONNECTION_DURATION
from websockets_app.cleanup import clear_sessions


class Command(BaseCommand):
    help = (
        "Mark closed the WebSocket sessions API Gateway has certainly closed (connected for over "
        f"{MAX_CONNECTION_DURATION}, or idle for over {IDLE_TIMEOUT}), then delete closed sessions, spent or "
        "expired connect tokens, expired rate-limit counters and the channel history past "
        "WEBSOCKETS['HISTORY_MAX_MESSAGES'] and ['HISTORY_MAX_AGE']."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--keep-days",
            type=int,
            default=0,
            help="Keep closed sessions that closed less than this many days ago (default 0: delete every one).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Change nothing; say what would be done.")

    def handle(self, *args: Any, keep_days: int, dry_run: bool, **options: Any) -> None:
        if keep_days < 0:
            raise CommandError("--keep-days must be 0 or more.")
        result = clear_sessions(keep_days=keep_days, dry_run=dry_run)
        verb_close, verb_delete = ("Would mark", "Would delete") if dry_run else ("Marked", "Deleted")
        kept = f" (keeping those closed in the last {keep_days} days)" if keep_days else ""
        self.stdout.write(f"{verb_close} {result.marked_closed} stale session(s) closed.")
        self.stdout.write(f"{verb_delete} {result.deleted} closed session(s){kept}.")
        if result.tokens_deleted or result.counters_deleted:
            self.stdout.write(
                f"{verb_delete} {result.tokens_deleted} spent or expired connect token(s) and "
                f"{result.counters_deleted} expired rate-limit counter(s)."
            )
        if result.history_deleted:
            self.stdout.write(f"{verb_delete} {result.history_deleted} channel history message(s) past retention.")
