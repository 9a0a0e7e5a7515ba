"""``manage.py createApiGateway``: this command's name before 0.3, kept as an alias of ``create_api_gateway``."""

from websockets_app.management.commands.create_api_gateway import Command

__all__ = ("Command",)
