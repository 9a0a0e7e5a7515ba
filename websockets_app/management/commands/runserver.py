"""``runserver`` serving the site and its WebSockets through the local API Gateway emulator.

It keeps Django's options, checks and autoreloader; only the server changes: HTTP, WebSocket upgrades and the
``@connections`` management API on one port, all through the project's ``lambda_handler``. List
``websockets_app`` before ``django.contrib.staticfiles`` in ``INSTALLED_APPS`` so this command wins.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from typing import Any

from django.core.management.commands.runserver import Command as DjangoRunserverCommand
from django.db import connections
from django.utils import autoreload

from websockets_app.emulator import app as emulator_app
from websockets_app.emulator import server


class Command(DjangoRunserverCommand):
    # Set by Django's runserver from its addrport argument before inner_run().
    addr: str
    port: str
    help = "Starts a development server that emulates API Gateway WebSockets in front of lambda_handler."

    def inner_run(self, *args: Any, **options: Any) -> None:
        autoreload.raise_last_exception()
        if not options["skip_checks"]:
            self.stdout.write("Performing system checks...\n\n")
            self.check(display_num_errors=True)
        self.check_migrations()
        try:
            sock = server.bind(self.addr, int(self.port))
        except OSError as error:
            messages = {
                errno.EACCES: "You don't have permission to access that port.",
                errno.EADDRINUSE: "That port is already in use.",
                errno.EADDRNOTAVAIL: "That IP address can't be assigned to.",
            }
            self.stderr.write(f"Error: {messages.get(error.errno or 0, error)}")
            os._exit(1)  # sys.exit does not end the process from the autoreloader's thread
        show_event_lines()
        app = server.build_app(sock)
        server.point_django_at(app)
        connections.close_all()
        self.on_bind(sock.getsockname()[1])
        self.stdout.write(
            f"WebSockets: ws://{app.api.domain_name}/ (any path; stage {app.api.stage!r}), "
            f"management API http://{app.api.domain_name}/{app.api.stage}/@connections/{{id}}"
        )
        self.stdout.write(f"As on AWS: {server.parity_summary(app)} (WEBSOCKETS['EMULATOR_*'] relaxes each).")
        server.serve(app, sock)


def show_event_lines() -> None:
    """Print the emulator's one line per event, as runserver prints requests, when logging sends them nowhere.

    A site without a ``LOGGING`` of its own has no handler for the app's loggers, and Python would drop INFO lines.
    A site whose logging reaches them (a handler on ``websockets_app`` or the root logger) keeps its own choice.
    """
    logger = emulator_app.logger
    if logger.hasHandlers():
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
