from django.urls import include, path

from tests.websocket_views import (
    ActionView,
    CustomDispatchView,
    GuardedView,
    MixedView,
    PlainView,
    ReplyView,
    SlowConnectView,
)

urlpatterns = [
    path("websockets/", include("websockets_app.urls")),
    path("ws/<slug:route>", ActionView.as_view(debug=True), name="websocket"),
    path("custom/<slug:route>", CustomDispatchView.as_view(), name="custom"),
    path("plain/<slug:route>", PlainView.as_view(), name="plain"),
    path("mixed/<slug:route>", MixedView.as_view(), name="mixed"),
    path("guarded/<slug:route>", GuardedView.as_view(), name="guarded"),
    path("slow/<slug:route>", SlowConnectView.as_view(), name="slow"),
    path("replies/<slug:route>", ReplyView.as_view(), name="replies"),
]
