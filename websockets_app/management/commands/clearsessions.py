"""``clearsessions``, Django's, which also ends the logins it deletes: their open connections and unused tokens.

The app hears of every session row deleted through the ORM (``websockets_app.security.identity``); for a deletion of
many rows that would cost Django its one-statement path. This command keeps it: the expired sessions still in use
by a connection or a token are found first, and Django's own command deletes the rows with nobody listening. List
``websockets_app`` before ``django.contrib.sessions`` in ``INSTALLED_APPS`` (first, as for ``runserver``) so this
command wins; Django's own ends the same logins, at the cost of loading the rows it deletes.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.management.commands.clearsessions import Command as DjangoClearSessionsCommand

from websockets_app.security.identity import expired_logins_ended


class Command(DjangoClearSessionsCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        with expired_logins_ended():
            super().handle(*args, **options)
