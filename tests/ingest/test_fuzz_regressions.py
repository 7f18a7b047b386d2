"""Inputs found by fuzzing (schemathesis, hypothesis, hand-made nasties) that used to answer 500 or an unclear 4xx.

Each case asserts the status, a body naming the problem, and that nothing reached the store or the devices table.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from devices.models import Device
from ingest import lineprotocol
from timeseries.models import DataPoint, Series

pytestmark = pytest.mark.django_db

NOW_S = int(time.time())
GOOD = f"m,device=d v=1 {NOW_S}".encode()


def assert_nothing_written() -> None:
    assert DataPoint.objects.count() == 0
    assert Series.objects.count() == 0
    assert Device.objects.count() == 0


def check(response: Any, status: int, code: str, *fragments: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    assert_nothing_written()
    return body


def post(
    api: APIClient, data: bytes, *, url: str = "/api/v1/metrics", content_type: str = "application/json", **extra: Any
) -> Any:
    return api.post(url, data=data, content_type=content_type, **extra)


# --- JSON bodies (were 500) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        # RecursionError in json.loads
        (b"[" * 100_000 + b"]" * 100_000, "invalid JSON: nested too deeply"),
        (b'{"metrics":' + b'{"a":' * 5000 + b"1" + b"}" * 5001, "invalid JSON: nested too deeply"),
        # int() over sys.get_int_max_str_digits(): ValueError, not JSONDecodeError
        (b'{"device":"d","metrics":{"a":1' + b"0" * 5000 + b"}}", "invalid JSON: an integer has more than 4300 digits"),
        # lone surrogates reached the store's UTF-8 encoder
        (b'{"device":"d","metrics":{"\\udc00":1}}', "body: field key '\\udc00' contains a lone surrogate"),
        (b'{"device":"d","metrics":{"a":"x\\ud800"}}', "body: string field 'a' contains a lone surrogate"),
        (
            b'{"device":"d","measurement":"\\ud800","metrics":{"a":1}}',
            "body: measurement: Surrogate characters are not allowed: U+D800.",
        ),
        (
            b'{"device":"d","tags":{"\\ud800":"v"},"metrics":{"a":1}}',
            "body: tag key '\\ud800' contains a lone surrogate",
        ),
    ],
)
def test_hostile_json_is_a_400(api: APIClient, body: bytes, fragment: str) -> None:
    check(post(api, body), 400, "invalid", fragment)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"42", "body: item: Invalid data. Expected a dictionary, but got int."),
        (b'"x"', "Expected a dictionary, but got str."),
        (b"null", "body: item: No data provided"),
        (b"[]", "the list of metric items is empty"),
        (b"[1]", "item 0: item: Invalid data. Expected a dictionary, but got int."),
        (b'{"device":"d","metrics":{"a":1},"timestamp":' + b"9" * 400 + b"}", "epoch seconds is out of range"),
        (b'{"device":"d","metrics":{"a":1},"timestamp":1e300}', "1e+300 epoch seconds is out of range"),
    ],
)
def test_json_of_the_wrong_shape_names_the_problem(api: APIClient, body: bytes, fragment: str) -> None:
    check(post(api, body), 400, "invalid", fragment)


def test_json_timestamp_message_does_not_echo_hundreds_of_digits(api: APIClient) -> None:
    body = check(post(api, b'{"device":"d","metrics":{"a":1},"timestamp":' + b"9" * 400 + b"}"), 400, "invalid")
    assert len(body["message"]) < 200


# --- line protocol (were 500 or wrong) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # int() of a 5,000-digit timestamp raised ValueError on the fast path: 500
        (f"m,device=d v=1 {'9' * 5000}", 'line 1, column 16: timestamp out of range (signed 64-bit) "999'),
        # the message was Python's "use sys.set_int_max_str_digits()"
        (f"m,device=d v={'9' * 5000}i {NOW_S}", 'line 1, column 14: integer out of range (signed 64-bit): "999'),
        (f"m,device=d v={'9' * 5000}u {NOW_S}", 'line 1, column 14: unsigned integer out of range (64-bit): "999'),
        # \d matched Arabic-Indic digits: U+0661..U+0663 were stored as timestamp 123, "\u0661i" as the integer 1
        ("m,device=d v=1 \u0661\u0662\u0663", 'line 1, column 16: invalid timestamp "\u0661\u0662\u0663"'),
        (f"m,device=d v=\u0661i {NOW_S}", 'line 1, column 14: invalid field value "\u0661i"'),
        (f"m,device=d v=\u0661.\u0665 {NOW_S}", 'line 1, column 14: invalid field value "\u0661.\u0665"'),
    ],
)
def test_hostile_line_protocol_is_a_400_with_position(api: APIClient, text: str, fragment: str) -> None:
    body = check(
        post(api, text.encode(), url="/api/v2/write?precision=s", content_type="text/plain"), 400, "invalid", fragment
    )
    assert body["line"] == 1
    assert len(body["message"]) < 200


# --- encodings and media types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding", "status", "code", "fragment"),
    [
        (GOOD, "gzip", 400, "invalid", "body is not valid gzip"),
        (gzip.compress(GOOD)[:-5], "gzip", 400, "invalid", "gzip body is truncated"),
        (gzip.compress(GOOD) + b"xx", "gzip", 400, "invalid", "body is not valid gzip"),
        (zlib.compress(GOOD), "deflate", 415, "unsupported_media_type", "Content-Encoding 'deflate' is not supported"),
        (GOOD, "br", 415, "unsupported_media_type", "Content-Encoding 'br' is not supported"),
    ],
)
def test_content_encoding(api: APIClient, data: bytes, encoding: str, status: int, code: str, fragment: str) -> None:
    response = post(
        api, data, url="/api/v2/write?precision=s", content_type="text/plain", HTTP_CONTENT_ENCODING=encoding
    )
    check(response, status, code, fragment)


@pytest.mark.parametrize("content_type", ["application/xml", "multipart/form-data; boundary=x", "garbage"])
def test_unsupported_content_type_is_a_415(api: APIClient, content_type: str) -> None:
    check(post(api, GOOD, content_type=content_type), 415, "unsupported_media_type", "is not supported")


@pytest.mark.parametrize("precision", ["-1", "9" * 400, "h"])
def test_bad_precision(api: APIClient, precision: str) -> None:
    check(
        post(api, GOOD, url=f"/api/v2/write?precision={precision}", content_type="text/plain"),
        400,
        "invalid",
        "parameter 'precision'",
    )


def test_invalid_utf8_json_names_the_position(api: APIClient) -> None:
    body = check(post(api, b'{"a":"\xff"}'), 400, "invalid", "line 1, column 7: body is not valid UTF-8")
    assert body["line"] == 1


# --- devices ----------------------------------------------------------------------------------------


def test_two_new_devices_with_one_slug_are_refused_before_writing(api: APIClient) -> None:
    # Was: the points were stored, then creating the second device hit the unique slug → 500.
    body = json.dumps([{"device": "s t", "metrics": {"a": 1}}, {"device": "s-t", "metrics": {"a": 2}}]).encode()
    result = check(post(api, body), 400, "invalid", "item 1: new device names 's t' and 's-t' have the same slug 's-t'")
    assert set(result) == {"code", "message"}


@pytest.mark.parametrize(("name", "slug"), [("😀", "device-"), ("../..", "device-"), ("a/b/ü", "abu")])
def test_device_names_without_a_usable_slug_get_a_valid_one(api: APIClient, name: str, slug: str) -> None:
    response = post(api, json.dumps({"device": name, "metrics": {"a": 1}}).encode())
    assert response.status_code == 204, response.content
    device = Device.objects.get(name=name)
    assert device.slug.startswith(slug)
    assert all(c.isascii() and (c.isalnum() or c in "-_") for c in device.slug)
    listed = api.get("/api/v1/devices/").json()["results"]
    assert [(d["name"], d["slug"]) for d in listed] == [(name, device.slug)]


# --- history (were 500) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"step": "9" * 400}, "parameter 'step': "),  # OverflowError
        ({"step": "99999999999999w"}, "parameter 'step': '99999999999999w' is too large"),  # OverflowError
        (
            {"step": "0.0000001ms"},
            "parameter 'step': '0.0000001ms' is shorter than the smallest step, 1ms",
        ),  # 0 division
        ({"step": "0"}, "parameter 'step': '0' is not a positive duration"),
        ({"step": "-1"}, "parameter 'step': '-1' is not a positive duration"),
        ({"start": "-99999999w"}, "parameter 'start': '-99999999w' is out of range"),  # OverflowError
        ({"start": "1e20"}, "parameter 'start': '1e20' is out of range"),
        ({"start": "-62135596801"}, "parameter 'start': '-62135596801' is out of range"),  # was "is not a time"
        ({"start": "-inf"}, "parameter 'start': '-inf' is out of range"),
        # was {"message": "Invalid request; see 'detail'", "detail": ["Datetime value out of range."]}: no name
        ({"start": "0001-01-01T00:00:00+01:00"}, "parameter 'start': '0001-01-01T00:00:00+01:00' is out of range"),
        ({"end": "9999-12-31T23:59:59-01:00"}, "parameter 'end': '9999-12-31T23:59:59-01:00' is out of range"),
        ({"start": "now", "end": "-1h"}, "parameter 'start': 'now' is not before end '-1h'"),
        ({"agg": "median"}, "parameter 'agg': \"median\" is not a valid choice."),
        (
            {"field": [f"f{i}" for i in range(101)]},
            "parameter 'field': Ensure this field has no more than 100 elements.",
        ),
        # was Django's HTML "Bad Request (400)" page (TooManyFieldsSent)
        ({"field": ["v"] * 1000}, "too many query or form parameters; the limit is 1000"),
        ({"device": ""}, "parameter 'device': This field may not be blank."),
    ],
)
def test_bad_history_parameters_are_a_400_naming_the_parameter(
    api: APIClient, device: Device, params: dict[str, Any], fragment: str
) -> None:
    query = {"device": "edge-01", "field": "cpu", **params}
    response = api.get("/api/v1/history", query)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body == {"code": "invalid", "message": body["message"]}
    assert fragment in body["message"], body["message"]


def test_history_accepts_the_extremes_of_the_calendar(api: APIClient, device: Device) -> None:
    response = api.get(
        "/api/v1/history", {"device": "edge-01", "field": "cpu", "start": "0001-01-01", "end": "9999-12-31T23:59:59"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["start"], body["end"], body["series"]) == ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", [])


# --- the parser, fuzzed ----------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [*'m,= "\\\r\n\t\x00#0123456789.eE+-iutTfF_', "\u0661", "é", "\ud800", "9" * 25, "9" * 4400, "1e999", "\\ ", '\\"']
)
_TEXTS = st.one_of(
    st.text(max_size=200),
    st.lists(_PIECES, max_size=40).map("".join),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape")),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(text=_TEXTS, precision=st.sampled_from(sorted(lineprotocol.PRECISION_NS)))
def test_parser_parses_or_raises_its_own_error_with_a_position(text: str, precision: str) -> None:
    try:
        lines = lineprotocol.parse(text, precision=precision, max_points=20)
    except lineprotocol.LineProtocolError as exc:
        assert exc.line >= 1 and exc.column >= 1
        assert str(exc).startswith(f"line {exc.line}, column {exc.column}: ")
        return
    except lineprotocol.TooManyPoints:
        return
    for parsed in lines:
        assert parsed.measurement and parsed.fields
        assert parsed.timestamp is None or -(2**63) <= parsed.timestamp < 2**63
        for value in parsed.fields.values():
            assert isinstance(value, bool | int | float | str)
            if isinstance(value, int) and not isinstance(value, bool):
                assert -(2**63) <= value < 2**64


@pytest.mark.parametrize(("value", "kind"), [(True, "bool"), ("up", "str")])
def test_history_mean_of_a_non_numeric_field_is_a_400_naming_agg(
    api: APIClient, device: Device, value: object, kind: str
) -> None:
    # Was a 500: the store's StoreError escaped the view. `last` still answers.
    written = post(api, json.dumps({"device": "edge-01", "metrics": {"state": value}}).encode())
    assert written.status_code == 204, written.content
    query = {"device": "edge-01", "field": "state", "start": "-5m", "end": "now"}
    response = api.get("/api/v1/history", {**query, "agg": "mean"})
    assert response.status_code == 400, response.content
    assert response.json() == {
        "code": "invalid",
        "message": f"parameter 'agg': aggregation 'mean' needs a numeric field; 'state' is {kind}; "
        "use agg=last for string and boolean fields",
    }
    last = api.get("/api/v1/history", {**query, "agg": "last"})
    assert last.status_code == 200, last.content
    assert [p[1] for p in last.json()["series"][0]["points"]] == [value]
