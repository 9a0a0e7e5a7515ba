"""URLs the app offers to sites: ``path("websockets/", include("websockets_app.urls"))``."""

from django.urls import path

from websockets_app.security.token_views import connect_token

urlpatterns = [
    path("connect-token/", connect_token, name="websocket-connect-token"),
]
