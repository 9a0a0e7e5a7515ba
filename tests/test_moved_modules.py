"""Modules that moved in 0.2 stay importable by their old paths until 0.3, each with a DeprecationWarning."""

import importlib
import sys

import pytest

from websockets_app._moved import MOVED_MODULES

# Written out, not read from the table: a path dropped from it by mistake fails here.
OLD_PATHS = {
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


@pytest.fixture
def forget_old_paths():
    """Each test imports the old paths afresh (an earlier import would be served from sys.modules silently)."""
    for old in OLD_PATHS:
        sys.modules.pop(old, None)
    yield
    for old in OLD_PATHS:
        sys.modules.pop(old, None)


def test_the_table_holds_every_old_path():
    assert MOVED_MODULES == OLD_PATHS


@pytest.mark.usefixtures("forget_old_paths")
@pytest.mark.parametrize(("old", "new"), OLD_PATHS.items())
def test_an_old_path_gives_the_moved_module_itself_and_says_where_it_went(old, new):
    expected = f"{old} moved to {new}; the old path goes in 0.3. Import {new} instead."
    with pytest.warns(DeprecationWarning, match=f"^{old} moved to ") as warned:
        module = importlib.import_module(old)

    assert module is importlib.import_module(new)
    assert [str(warning.message) for warning in warned] == [expected]
    # import_module() is the importing line here: the warning points at it, not at the import system's frames.
    assert warned[0].filename.endswith("importlib/__init__.py")


@pytest.mark.usefixtures("forget_old_paths")
def test_a_from_import_of_an_old_path_names_the_importing_line():
    with pytest.warns(DeprecationWarning, match="websockets_app.identity moved") as warned:
        from websockets_app.identity import close_user_connections

    from websockets_app.security.identity import close_user_connections as moved

    assert close_user_connections is moved
    assert warned[0].filename == __file__


@pytest.mark.usefixtures("forget_old_paths")
def test_a_zappa_task_queued_under_the_old_path_still_runs():
    """An asynchronous batch queued by 0.1 names ``websockets_app.broadcast_tasks.send_batch``."""
    from zappa.asynchronous import import_and_get_task

    from websockets_app.sending.batches import send_batch

    with pytest.warns(DeprecationWarning, match="websockets_app.broadcast_tasks moved"):
        task = import_and_get_task("websockets_app.broadcast_tasks.send_batch")

    assert task is send_batch


@pytest.mark.usefixtures("forget_old_paths")
def test_zappa_callbacks_named_by_their_old_path_still_load(monkeypatch, tmp_path):
    """zappa_settings.json written for 0.1 names ``websockets_app.zappa_hooks.post``. The zappa CLI looks for
    ``websockets_app/zappa_hooks.py`` under the working directory first, finds none now, and imports the path."""
    from zappa.cli import ZappaCLI

    from websockets_app.deployment import zappa_hooks

    called = []
    monkeypatch.setattr(zappa_hooks, "post", called.append)
    cli = ZappaCLI()
    cli.api_stage = "dev"
    cli.zappa_settings = {"dev": {"callbacks": {"post": "websockets_app.zappa_hooks.post"}}}

    with pytest.warns(DeprecationWarning, match="websockets_app.zappa_hooks moved"):
        cli.callback("post")

    assert called == [cli]


def test_paths_that_did_not_move_import_without_a_warning():
    for path in ("websockets_app.models", "websockets_app.views", "websockets_app.testing", "websockets_app.cleanup"):
        importlib.import_module(path)  # warnings are errors in this suite
