"""``runserver`` serving the site and its WebSockets through the local API Gateway emulator.

It keeps Django's options, checks and autoreloader; only the server changes: HTTP, WebSocket upgrades and the
``@connections`` management API on one port, all through the project's ``lambda_handler``. List
``websockets_app`` before ``django.contrib.staticfiles`` in ``INSTALLED_APPS`` so this command wins.
"""

from __future__ import annotations

import errno
import os
from typing import Any

from django.core.management.commands.runserver import Command as DjangoRunserverCommand
from django.db import connections
from django.utils import autoreload

from websockets_app.emulator import server


class Command(DjangoRunserverCommand):
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
            self.stderr.write(f"Error: {messages.get(error.errno, error)}")
            os._exit(1)  # sys.exit does not end the process from the autoreloader's thread
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
