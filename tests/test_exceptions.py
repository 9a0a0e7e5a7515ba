"""One exception hierarchy: every exception the app raises to its users is defined in one module, under one base."""

import importlib
import inspect
import pkgutil

import pytest

import websockets_app
from websockets_app import exceptions
from websockets_app.exceptions import WebSocketsError

# What the hierarchy drawn in the module's docstring says, written out here.
EXPECTED_PARENTS = {
    "RejectEvent": (WebSocketsError,),
    "InvalidWebSocketEvent": (WebSocketsError, ValueError),
    "InvalidMessageId": (WebSocketsError, ValueError),
    "SendError": (WebSocketsError,),
    "MessageTooLarge": (exceptions.SendError, ValueError),
    "ConnectionNotReady": (exceptions.SendError, RuntimeError),
    "ManagementApiError": (exceptions.SendError,),
    "ProvisioningError": (WebSocketsError,),
    "NoLambdaFunction": (exceptions.ProvisioningError, LookupError),
    "InvalidRoutes": (exceptions.ProvisioningError, ValueError),
    "InvalidThrottling": (exceptions.ProvisioningError, ValueError),
    "InvalidExpression": (WebSocketsError, ValueError),
}


def _app_modules():
    for module in pkgutil.walk_packages(websockets_app.__path__, "websockets_app."):
        if ".migrations." in module.name or module.name.endswith(".lambda_handler"):
            continue
        yield importlib.import_module(module.name)


def test_the_hierarchy_is_the_one_drawn():
    assert {name: cls.__bases__ for name, cls in vars(exceptions).items() if inspect.isclass(cls)} == {
        "WebSocketsError": (Exception,),
        **EXPECTED_PARENTS,
    }
    assert set(exceptions.__all__) == {"WebSocketsError", *EXPECTED_PARENTS}


@pytest.mark.django_db
def test_no_module_defines_an_exception_of_its_own():
    defined_elsewhere = sorted(
        f"{module.__name__}.{name}"
        for module in _app_modules()
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == module.__name__
        and module is not exceptions
    )
    assert defined_elsewhere == []


def test_every_drawn_exception_is_in_the_docstring():
    for name in EXPECTED_PARENTS:
        assert f"    {name} " in exceptions.__doc__ or f"── {name} " in exceptions.__doc__
