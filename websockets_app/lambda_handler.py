"""The function to name in ``zappa_settings.json``: ``websockets_app.lambda_handler.lambda_handler``.

A site adopting the app names it instead of writing its own. WebSocket routes and HTTP requests go through apig-wsgi
to the site's Django; every other event goes to Zappa's own handler, so ``zappa manage``, ``zappa invoke``,
keep-warm and event sources keep working. The Django settings module comes from Zappa's packaged settings
(``django_settings``) or ``DJANGO_SETTINGS_MODULE``.
"""

from websockets_app.events.entry import load_zappa_environment, make_lambda_handler

load_zappa_environment()

from django.core.wsgi import get_wsgi_application  # noqa: E402  (Zappa's settings choose the settings module first)

lambda_handler = make_lambda_handler(get_wsgi_application())
