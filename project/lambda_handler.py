"""The function Lambda calls (``lambda_handler`` in zappa_settings.json).

WebSocket routes and HTTP requests go through apig-wsgi to Django; every other event goes to Zappa's own handler,
so ``zappa manage``, ``zappa invoke``, keep-warm and event sources keep working.
"""

import os

from websockets_app.lambda_entry import load_zappa_environment, make_lambda_handler

load_zappa_environment()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402  (settings must be chosen first)

lambda_handler = make_lambda_handler(get_wsgi_application())
