"""``manage.py createCustomDomain``: this command's name before 0.3, kept as an alias of ``create_custom_domain``."""

from websockets_app.management.commands.create_custom_domain import Command

__all__ = ("Command",)
