"""The demo's Lambda entry point: the app's own handler, with the demo's settings unless Zappa names others."""

import os

from websockets_app.events.entry import load_zappa_environment

load_zappa_environment()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from websockets_app.lambda_handler import lambda_handler  # noqa: E402  (the settings module must be chosen first)

__all__ = ("lambda_handler",)
