from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from project.views import ChatWebSocketView, chat

urlpatterns = [
    path("", chat, name="chat"),
    path("login/", auth_views.LoginView.as_view(template_name="login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("websockets/", include("websockets_app.urls")),
    path("ws/<slug:route>", ChatWebSocketView.as_view(), name="websocket"),
]
