import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy

from websockets_app.sending.encoding import encode_message


def test_text_is_sent_as_utf8():
    assert encode_message("héllo") == "héllo".encode()


@pytest.mark.parametrize("data", [b"\x00\xff", bytearray(b"\x00\xff"), memoryview(b"\x00\xff")])
def test_bytes_are_sent_as_they_are(data):
    assert encode_message(data) == b"\x00\xff"


def test_django_types_are_encoded_as_compact_json():
    data = {
        "at": datetime.datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=datetime.UTC),
        "day": datetime.date(2024, 5, 1),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "price": Decimal("9.90"),
        "label": gettext_lazy("Yes"),
        "items": [1, "é", None, True],
    }
    assert (
        encode_message(data)
        == (
            '{"at":"2024-05-01T12:30:15.123Z","day":"2024-05-01","id":"12345678-1234-5678-1234-567812345678",'
            '"price":"9.90","label":"Yes","items":[1,"é",null,true]}'
        ).encode()
    )


def test_data_json_cannot_write_is_refused_with_a_clear_error():
    with pytest.raises(TypeError, match=r"^send_message\(\) needs str, bytes or JSON-serialisable data: "):
        encode_message({"who": object()})
