"""WSGI entry for servers other than Lambda (the local emulator builds on lambda_handler instead)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

application = get_wsgi_application()
