"""The admin gives staff only what their permissions say: provisioning is its own permission, connections are
read-only but for closing them."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client, override_settings
from django.utils import timezone

from tests.aws_events import API_ID, REGION, STAGE, connect_event
from tests.provisioning.test_frontends import api_change_form, on_lambda, row  # noqa: F401  (fixtures)
from websockets_app.models import ApiGateway, Broadcast, WebSocketSession

pytestmark = [pytest.mark.django_db]

ENDPOINT = f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{STAGE}"
ACTIONS = ("create_api_gateway", "create_custom_domain")


def staff(django_user_model, *permissions: str) -> Client:
    user = django_user_model.objects.create_user("operator", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="websockets_app", codename=codename))
    client = Client()
    client.force_login(user)
    return client


def action_choices(client: Client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["action_form"]  # None when the user may run no action at all
    return [] if form is None else [name for name, _ in form.fields["action"].choices if name]


@pytest.mark.parametrize("action", ACTIONS)
def test_staff_who_may_only_view_apis_cannot_provision(on_lambda, row, django_user_model, action):  # noqa: F811
    viewer = staff(django_user_model, "view_apigateway")

    assert action_choices(viewer, "/admin/websockets_app/apigateway/") == []
    response = viewer.post(
        "/admin/websockets_app/apigateway/", {"action": action, "_selected_action": [row.pk]}, follow=True
    )

    assert response.status_code == 200
    assert on_lambda.calls.writes == []
    assert ApiGateway.objects.get().api_created is False


def test_staff_who_may_change_apis_cannot_provision_either(on_lambda, row, django_user_model):  # noqa: F811
    editor = staff(django_user_model, "view_apigateway", "change_apigateway")

    assert action_choices(editor, "/admin/websockets_app/apigateway/") == []


def test_the_provision_permission_lets_staff_provision(on_lambda, row, django_user_model):  # noqa: F811
    provisioner = staff(django_user_model, "view_apigateway", "provision_apigateway")

    assert sorted(action_choices(provisioner, "/admin/websockets_app/apigateway/")) == sorted(ACTIONS)
    provisioner.post(
        "/admin/websockets_app/apigateway/", {"action": "create_api_gateway", "_selected_action": [row.pk]}
    )

    assert ApiGateway.objects.get().api_created is True


@override_settings(WEBSOCKETS={"PROVISION_ON_SAVE": True})
def test_saving_does_not_provision_for_staff_without_the_permission(on_lambda, row, django_user_model):  # noqa: F811
    ApiGateway.objects.filter(pk=row.pk).update(api_created=True, api_id="abc123")
    editor = staff(django_user_model, "view_apigateway", "change_apigateway")
    route = row.additional_routes.get()
    form = api_change_form(
        row,
        "Edited",
        {
            "additional_routes-TOTAL_FORMS": "1",
            "additional_routes-INITIAL_FORMS": "1",
            "additional_routes-0-id": str(route.pk),
            "additional_routes-0-api_gateway": str(row.pk),
            "additional_routes-0-route_key": "sendmessage",
            "additional_routes-0-two_way": "on",
        },
    )

    response = editor.post(f"/admin/websockets_app/apigateway/{row.pk}/change/", form, follow=True)

    assert ApiGateway.objects.get().api_description == "Edited"
    assert on_lambda.calls.writes == []
    assert "chat: AWS is unchanged: you may not provision APIs." in [str(m) for m in response.context["messages"]]


@pytest.fixture
def alices_connection(lambda_handler, django_user_model, connections_api):
    alice = django_user_model.objects.create_user("alice")
    browser = Client()
    browser.force_login(alice)
    event = connect_event(connection_id="alice=", cookies={"sessionid": browser.cookies["sessionid"].value})
    assert lambda_handler(event, None)["statusCode"] == 200
    connections_api.open("alice=")
    return WebSocketSession.objects.get()


def test_a_connections_user_cannot_be_reassigned(alices_connection, django_user_model):
    mallory = django_user_model.objects.create_user("mallory")
    operator = staff(django_user_model, "view_websocketsession", "change_websocketsession")
    url = f"/admin/websockets_app/websocketsession/{alices_connection.pk}/change/"

    page = operator.get(url)
    operator.post(url, {"connection_id": "alice=", "channel_name": "default", "user": mallory.pk, "connected": "on"})

    assert page.status_code == 200
    assert "user" not in page.context["adminform"].form.fields
    assert WebSocketSession.objects.get().user.username == "alice"


def test_connections_cannot_be_added_in_the_admin(django_user_model):
    operator = staff(django_user_model, "view_websocketsession", "add_websocketsession", "change_websocketsession")

    assert operator.get("/admin/websockets_app/websocketsession/add/").status_code == 403


def test_an_operator_can_close_connections(alices_connection, django_user_model, connections_api):
    operator = staff(django_user_model, "view_websocketsession", "change_websocketsession")

    assert action_choices(operator, "/admin/websockets_app/websocketsession/") == ["close_connections"]
    response = operator.post(
        "/admin/websockets_app/websocketsession/",
        {"action": "close_connections", "_selected_action": [alices_connection.pk]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == ["Closed 1 connection(s)."]
    assert connections_api.requests == [("DELETE", f"{ENDPOINT}/@connections/alice=")]
    assert WebSocketSession.objects.get().connected is False


def test_staff_who_may_only_view_connections_cannot_close_them(django_user_model):
    viewer = staff(django_user_model, "view_websocketsession")

    assert action_choices(viewer, "/admin/websockets_app/websocketsession/") == []


def test_a_broadcast_is_shown_read_only_with_what_became_of_it(django_user_model):
    broadcast = Broadcast.objects.create(
        payload=b'{"type":"news"}',
        deadline=timezone.now() + timedelta(minutes=15),
        targets=3,
        sent=1,
        gone=1,
        failed=1,
        failures={"c2=": "ForbiddenException (HTTP 403)"},
        batches=2,
        batches_finished=2,
        state=Broadcast.State.FINISHED,
    )
    operator = staff(django_user_model, "view_broadcast", "add_broadcast", "change_broadcast", "delete_broadcast")
    url = f"/admin/websockets_app/broadcast/{broadcast.pk}/change/"

    listing = operator.get("/admin/websockets_app/broadcast/")
    page = operator.get(url)
    operator.post(url, {"sent": 3, "failed": 0})

    assert listing.status_code == page.status_code == 200
    assert "ForbiddenException (HTTP 403)" in page.content.decode()
    assert list(page.context["adminform"].form.fields) == []  # every field read-only
    assert operator.get("/admin/websockets_app/broadcast/add/").status_code == 403
    assert Broadcast.objects.values_list("sent", "failed").get() == (1, 1)
