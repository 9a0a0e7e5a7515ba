"""The API reference (docs/api.md, Sphinx autodoc) covers every public face of the app, and each name says what it is.

``make docs`` builds it with warnings as errors; this checks what a build cannot: that no public module is left
out, and that no public class or function would show up in it without a word of explanation.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from tests.docs_examples import DOCS

API_PAGE = DOCS / "api.md"
# The modules an application imports from, each documented with its __all__.
PUBLIC_MODULES = [
    "websockets_app.views",
    "websockets_app.channels",
    "websockets_app.sending",
    "websockets_app.models",
    "websockets_app.websocket_url",
    "websockets_app.testing",
    "websockets_app.exceptions",
    "websockets_app.signals",
    "websockets_app.security",
    "websockets_app.lambda_handler",
    "websockets_app.events",
    "websockets_app.cleanup",
    "websockets_app.provisioning",
    "websockets_app.deployment.stage_settings",
    "websockets_app.deployment.zappa_hooks",
    "websockets_app.conf",
]


def test_the_reference_documents_every_public_module():
    documented = re.findall(r"^\.\. automodule:: (\S+)$", API_PAGE.read_text(), re.MULTILINE)

    assert documented == PUBLIC_MODULES


def public_classes_and_functions() -> list[tuple[str, str]]:
    """Each module's ``__all__`` but its values (constants, signals) and type aliases, which have no docstring."""
    names = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                names.append((module_name, name))
    return names


@pytest.mark.parametrize(("module_name", "name"), public_classes_and_functions(), ids=lambda value: value)
def test_every_public_class_and_function_says_what_it_is(module_name, name):
    value = getattr(importlib.import_module(module_name), name)

    assert (inspect.getdoc(value) or "").strip(), f"{module_name}.{name} has no docstring"


def test_the_view_documents_what_a_handler_reads():
    """Autodoc shows an attribute with the ``#:`` comment above it: the ones every handler uses have one."""
    view = importlib.import_module("websockets_app.views").WebSocketView
    lines = inspect.getsource(view).splitlines()
    attributes = ("body", "event", "websocket_session", "channel_name", "message_id", "route_selection_key")

    def documented(name: str) -> bool:
        declared = [n for n, line in enumerate(lines) if re.match(rf"    {name}\b", line)]
        return bool(declared) and lines[declared[0] - 1].strip().startswith("#: ")

    assert [name for name in attributes if not documented(name)] == []
