"""``manage.py createCustomDomain``: this command's name in 0.1, kept as an alias of ``create_custom_domain``."""

from websockets_app.management.commands.create_custom_domain import Command

__all__ = ("Command",)
