"""The process's send backend: the class ``WEBSOCKETS["SEND_BACKEND"]`` names, built once and kept.

A backend holds what should outlive an invocation (libcurl's thread and its kept-alive connections, boto3's clients),
so there is one instance per class and process; changing the setting (``override_settings`` in a test) switches to
that class's instance.
"""

from __future__ import annotations

import threading

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from websockets_app.backends.base import SendBackend
from websockets_app.conf import conf

__all__ = ("close_backends", "get_backend", "load_backend_class")

_instances: dict[str, SendBackend] = {}
_instances_lock = threading.Lock()


def load_backend_class(path: str) -> type[SendBackend]:
    """The class at ``path``; ImproperlyConfigured, naming the setting, when it is not a send backend."""
    try:
        backend_class = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"WEBSOCKETS['SEND_BACKEND'] is {path!r}, which cannot be imported: {error}"
        ) from None
    if not (isinstance(backend_class, type) and issubclass(backend_class, SendBackend)):
        raise ImproperlyConfigured(
            f"WEBSOCKETS['SEND_BACKEND'] is {path!r}, which is not a subclass of websockets_app.backends.SendBackend."
        )
    return backend_class


def get_backend() -> SendBackend:
    """The instance of the configured backend class for this process."""
    path = conf.SEND_BACKEND
    backend = _instances.get(path)
    if backend is None:
        with _instances_lock:
            backend = _instances.get(path)
            if backend is None:
                backend = _instances[path] = load_backend_class(path)()
    return backend


def close_backends() -> None:
    """Close every backend this process built (the end of a test run)."""
    with _instances_lock:
        backends = list(_instances.values())
        _instances.clear()
    for backend in backends:
        backend.close()
