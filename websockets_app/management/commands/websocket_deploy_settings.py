"""``manage.py websocket_deploy_settings STAGE [--region R] [--s3-bucket B]``: a working Zappa stage for this site."""

from __future__ import annotations

import os
import secrets
import string
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from websockets_app.conf import aws_region
from websockets_app.deployment.stage_settings import (
    merge_stage,
    project_name_for,
    read_settings_file,
    resolved_stages,
    settings_file,
    site_stage,
    validate_stage_name,
    validate_stage_options,
    write_settings_file,
)
from websockets_app.deployment.static_files import static_files_problems


class Command(BaseCommand):
    help = (
        "Write a Zappa stage that deploys this site with its WebSocket API into zappa_settings.json beside "
        "manage.py: the app's Lambda handler, this settings module, the runtime, memory and timeout, what the "
        "package leaves out, the app's callbacks and the websocket_api defaults. The file is created, or the stage "
        "merged into it: other stages, and values this stage already has, are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stage", help="The Zappa stage to write, such as dev or production.")
        parser.add_argument(
            "--region",
            default="",
            help="AWS region to deploy to (default: the stage's own, else AWS_REGION, AWS_DEFAULT_REGION or your "
            "AWS profile's).",
        )
        parser.add_argument(
            "--s3-bucket",
            default="",
            help="S3 bucket Zappa uploads the package to, created if missing (default: the stage's own, else a new "
            "name zappa-<random>).",
        )

    def handle(self, *args: Any, stage: str, region: str, s3_bucket: str, **options: Any) -> None:
        path = settings_file()
        try:
            validate_stage_name(stage)
            existing = read_settings_file(path)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        current = resolved_stages(existing).get(stage, {})
        project_name = current.get("project_name") or project_name_for(path.parent)
        chosen_region = region or current.get("aws_region") or aws_region()
        if not chosen_region:
            raise CommandError(
                "No AWS region: pass --region (such as --region eu-west-1), or set AWS_REGION or your AWS profile's."
            )
        bucket = s3_bucket or current.get("s3_bucket") or _new_bucket_name()
        try:
            validate_stage_options(stage, project_name=project_name, region=chosen_region, s3_bucket=bucket)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        # Under override_settings (tests) Django's settings no longer name their module; the environment still does.
        settings_module = settings.SETTINGS_MODULE or os.environ.get("DJANGO_SETTINGS_MODULE", "")
        wanted = site_stage(
            django_settings=settings_module,
            project_name=project_name,
            region=chosen_region,
            s3_bucket=bucket,
        )
        given = frozenset(key for key, value in (("aws_region", region), ("s3_bucket", s3_bucket)) if value)
        merged, changes = merge_stage(existing, stage, wanted, given=given)
        if not changes:
            self.stdout.write(f"Stage {stage} in {path} is up to date.")
        else:
            write_settings_file(path, merged)
            verb = "Added" if stage not in existing else "Updated"
            self.stdout.write(f"{verb} stage {stage} in {path}:")
            for change in changes:
                self.stdout.write(str(change))
        self._warn_about_static_files()
        self.stdout.write(
            f"Next, from a virtualenv holding only what the site runs on (Python {wanted['runtime'][6:]}): "
            f"zappa deploy {stage}, then zappa manage {stage} migrate."
        )

    def _warn_about_static_files(self) -> None:
        """What the ``settings`` callback will refuse, said now rather than at the first ``zappa deploy``."""
        for message in static_files_problems():
            if not message.is_silenced():
                self.stderr.write(self.style.WARNING(f"({message.id}) {message.msg}\n  HINT: {message.hint}"))


def _new_bucket_name() -> str:
    """Zappa's own form of bucket name, chosen once and kept in the stage (Zappa would pick a new one each run)."""
    alphabet = string.ascii_lowercase + string.digits
    return "zappa-" + "".join(secrets.choice(alphabet) for _ in range(9))
