from django.urls import path

from tests.websocket_views import ActionView, CustomDispatchView, PlainView

urlpatterns = [
    path("ws/<slug:route>", ActionView.as_view(debug=True), name="websocket"),
    path("custom/<slug:route>", CustomDispatchView.as_view(), name="custom"),
    path("plain/<slug:route>", PlainView.as_view(), name="plain"),
]
