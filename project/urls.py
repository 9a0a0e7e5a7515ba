from django.contrib import admin
from django.urls import include, path

from project.views import ChatWebSocketView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("websockets/", include("websockets_app.urls")),
    path("ws/<slug:route>", ChatWebSocketView.as_view(), name="websocket"),
]
