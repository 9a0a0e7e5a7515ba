"""``manage.py clearWebSocketSessions``: this command's name in 0.1, an alias of ``clear_websocket_sessions``."""

from websockets_app.management.commands.clear_websocket_sessions import Command

__all__ = ("Command",)
