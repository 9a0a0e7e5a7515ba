"""``manage.py createApiGateway``: this command's name in 0.1, kept as an alias of ``create_api_gateway``."""

from websockets_app.management.commands.create_api_gateway import Command

__all__ = ("Command",)
