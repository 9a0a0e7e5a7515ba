"""The import paths of modules that moved in 0.2, kept working until 0.3 with a ``DeprecationWarning``.

Code, ``zappa_settings.json`` callbacks and asynchronous tasks queued by an earlier release (Zappa names a task
by its module path) may still name a module where it used to be. Importing an old path gives the module itself,
not a copy, so what is patched or read through it is the module's own.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings

__all__ = ("MOVED_MODULES", "install")

REMOVED_IN = "0.3"
MOVED_MODULES = {
    "websockets_app.lambda_entry": "websockets_app.events.entry",
    "websockets_app.event_middleware": "websockets_app.events.middleware",
    "websockets_app.event_session": "websockets_app.events.session_lookup",
    "websockets_app.invocation": "websockets_app.events.invocation",
    "websockets_app.replies": "websockets_app.events.replies",
    "websockets_app.sender": "websockets_app.backends",
    "websockets_app.sigv4": "websockets_app.backends.sigv4",
    "websockets_app.management_errors": "websockets_app.backends.outcomes",
    "websockets_app.messaging": "websockets_app.sending",
    "websockets_app.broadcast_tasks": "websockets_app.sending.batches",
    "websockets_app.send_capacity": "websockets_app.sending.capacity",
    "websockets_app.encoding": "websockets_app.sending.encoding",
    "websockets_app.history": "websockets_app.channels.history",
    "websockets_app.presence": "websockets_app.channels.roster",
    "websockets_app.channel_actions": "websockets_app.channels.actions",
    "websockets_app.origins": "websockets_app.security.origins",
    "websockets_app.ratelimit": "websockets_app.security.rate_limits",
    "websockets_app.tokens": "websockets_app.security.tokens",
    "websockets_app.token_views": "websockets_app.security.token_views",
    "websockets_app.identity": "websockets_app.security.identity",
    "websockets_app.permissions": "websockets_app.security.permissions",
    "websockets_app.zappa_hooks": "websockets_app.deployment.zappa_hooks",
    "websockets_app.package_guard": "websockets_app.deployment.package_guard",
    "websockets_app.package_slimming": "websockets_app.deployment.package_slimming",
    "websockets_app.emulator.aws_events": "websockets_app.emulator.asgi_events",
    "websockets_app.emulator.management_api": "websockets_app.emulator.connections_api",
    "websockets_app.emulator.connections": "websockets_app.emulator.registry",
    "websockets_app.testing.management_api": "websockets_app.testing.connections_api",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers for the old paths only; every other import goes on as if it were not there."""

    def find_spec(
        self, fullname: str, path: object = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # a placeholder, replaced by the moved module itself below

    def exec_module(self, module: types.ModuleType) -> None:
        new_path = MOVED_MODULES[module.__name__]
        warnings.warn(
            f"{module.__name__} moved to {new_path}; the old path goes in {REMOVED_IN}. Import {new_path} instead.",
            DeprecationWarning,
            stacklevel=2,  # importlib's own frames are skipped: the warning names the importing line
        )
        # The import system hands back whatever sys.modules holds once the loader is done: the module itself.
        sys.modules[module.__name__] = importlib.import_module(new_path)


def install() -> None:
    """Make the old paths importable (once per process; called when ``websockets_app`` is imported)."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
