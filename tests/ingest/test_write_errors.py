"""One test per rule: the status, a body that says what and where, and nothing written to the store."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from devices.models import Device
from timeseries.models import DataPoint, Series

pytestmark = pytest.mark.django_db

NOW_S = int(time.time())
GOOD = f"m,device=d v=1 {NOW_S}"


def assert_nothing_written() -> None:
    assert DataPoint.objects.count() == 0
    assert Series.objects.count() == 0
    assert not Device.objects.filter(name__in=["d", "d2"]).exists()


def lp(api: APIClient, text: str | bytes, *, url: str = "/api/v2/write?precision=s", **extra: Any) -> Any:
    data = text.encode() if isinstance(text, str) else text
    return api.post(url, data=data, content_type=extra.pop("content_type", "text/plain"), **extra)


def js(api: APIClient, body: Any) -> Any:
    return api.post("/api/v1/metrics", data=json.dumps(body), content_type="application/json")


def check(response: Any, status: int, code: str, message: str, line: int | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert message in body["message"], body["message"]
    if line is not None:
        assert body["line"] == line
    assert_nothing_written()
    return body


# --- syntax (line protocol) --------------------------------------------------------------------


def test_syntax_error_names_line_and_column_and_writes_nothing(api: APIClient) -> None:
    body = f"{GOOD}\nm,device=d2 v=2 {NOW_S}\ncpu,device=d usage=12x {NOW_S}"
    result = check(lp(api, body), 400, "invalid", 'line 3, column 20: invalid field value "12x"', line=3)
    assert set(result) == {"code", "message", "line"}


def test_nan_in_line_protocol(api: APIClient) -> None:
    check(lp(api, f"m,device=d v=NaN {NOW_S}"), 400, "invalid", 'invalid field value "NaN"', line=1)


def test_invalid_utf8(api: APIClient) -> None:
    check(
        lp(api, GOOD.encode() + b'\nm,device=d s="\xff"'), 400, "invalid", "line 2, column 15: body is not valid UTF-8"
    )


def test_empty_body(api: APIClient) -> None:
    check(lp(api, "# nothing\n\n"), 400, "invalid", "holds no points")


def test_bad_precision(api: APIClient) -> None:
    check(lp(api, GOOD, url="/api/v2/write?precision=h"), 400, "invalid", "parameter 'precision'")


# --- names and values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("_m,device=d v=1", "measurement '_m' starts with '_'"),
        ("m,device=d,_t=x v=1", "tag key '_t' starts with '_'"),
        ("m,device=d _v=1", "field key '_v' starts with '_'"),
        ("m,device=d,beacon_tenant=1 v=1", "tag 'beacon_tenant' is reserved"),
        ("m,device=d,time=1 v=1", "tag key 'time' is reserved"),
        ("m,device=d time=1", "field key 'time' is reserved"),
        ("m" * 129 + ",device=d v=1", "is 129 characters; the limit is 128"),
        ("m,device=d," + "k" * 129 + "=x v=1", "is 129 characters; the limit is 128"),
        ("m,device=d,t=" + "x" * 257 + " v=1", "value of tag 't' is 257 characters; the limit is 256"),
        ("m,device=d,t=a\\\\\\,b v=1", "backslash at its end or before"),
        ("m,device=d v=9223372036854775807i,w=18446744073709551615u", "does not fit a signed 64-bit integer"),
    ],
)
def test_name_and_value_rules(api: APIClient, text: str, message: str) -> None:
    check(lp(api, f"{GOOD}\n{text} {NOW_S}"), 400, "invalid", message, line=2)


def test_string_field_too_long(api: APIClient, settings: Any) -> None:
    settings.INGEST_MAX_STRING_LENGTH = 10
    check(lp(api, f'm,device=d s="{"x" * 11}" {NOW_S}'), 400, "invalid", "string field 's' is 11 characters")


def test_too_many_tags(api: APIClient, settings: Any) -> None:
    settings.INGEST_MAX_TAGS = 3
    check(lp(api, f"m,device=d,a=1,b=2,c=3 v=1 {NOW_S}"), 400, "invalid", "4 tags; the limit is 3", line=1)


def test_too_many_fields(api: APIClient, settings: Any) -> None:
    settings.INGEST_MAX_FIELDS = 2
    check(lp(api, f"m,device=d a=1,b=2,c=3 {NOW_S}"), 400, "invalid", "3 fields; the limit is 2", line=1)


def test_timestamp_too_old(api: APIClient, settings: Any) -> None:
    settings.INGEST_MAX_AGE_SECONDS = 3600
    check(lp(api, f"{GOOD}\nm,device=d v=1 {NOW_S - 7200}"), 400, "invalid", "older than 3600 s", line=2)


def test_timestamp_in_the_future(api: APIClient, settings: Any) -> None:
    settings.INGEST_MAX_FUTURE_SECONDS = 60
    check(lp(api, f"m,device=d v=1 {NOW_S + 600}"), 400, "invalid", "more than 60 s in the future", line=1)


def test_timestamp_in_wrong_precision_is_caught_as_future(api: APIClient) -> None:
    # A nanosecond timestamp sent with precision=s lands far in the future.
    check(lp(api, f"m,device=d v=1 {time.time_ns()}"), 400, "invalid", "check the sender's clock and the precision")


def test_field_type_conflict_inside_batch(api: APIClient) -> None:
    body = f"{GOOD}\nm,device=d v=2i {NOW_S + 1}"
    check(lp(api, body), 400, "invalid", "line 2: field 'v'", line=2)


def test_field_type_conflict_with_stored_data_writes_nothing_new(api: APIClient) -> None:
    assert lp(api, GOOD).status_code == 204
    response = lp(api, f'm,device=d2 w=1 {NOW_S}\nm,device=d v="s" {NOW_S + 1}')
    assert response.status_code == 400
    assert "field type conflict" in response.json()["message"]
    assert DataPoint.objects.count() == 1
    assert not Device.objects.filter(name="d2").exists()  # devices are registered only after a stored write


# --- sizes --------------------------------------------------------------------------------------


def test_too_many_lines_is_413(api: APIClient, settings: Any) -> None:
    settings.INGEST_MAX_LINES = 3
    body = "\n".join(f"m,device=d v={i} {NOW_S}" for i in range(4))
    check(lp(api, body), 413, "request_too_large", "more than 3 points in one request; the limit is 3")


def test_exactly_max_lines_with_trailing_comments_is_accepted(api: APIClient, settings: Any) -> None:
    settings.INGEST_MAX_LINES = 3
    body = "\n".join(f"m,device=d v={i} {NOW_S + i}" for i in range(3)) + "\n# done\n\n"
    assert lp(api, body).status_code == 204
    assert DataPoint.objects.count() == 3


def test_body_over_limit_is_413(api: APIClient, settings: Any) -> None:
    settings.INGEST_MAX_BODY_BYTES = 100
    check(lp(api, "\n".join([GOOD] * 10)), 413, "request_too_large", "the limit is 100 (INGEST_MAX_BODY_BYTES)")


def test_gzip_bomb_is_413(api: APIClient, settings: Any) -> None:
    settings.INGEST_MAX_DECOMPRESSED_BYTES = 64 * 1024
    bomb = gzip.compress(b"#" * (20 * 1024 * 1024))  # ~20 KB on the wire, 20 MB inflated
    assert len(bomb) < 64 * 1024
    check(lp(api, bomb, HTTP_CONTENT_ENCODING="gzip"), 413, "request_too_large", "inflates to more than 65536 bytes")


def test_broken_gzip_is_400(api: APIClient) -> None:
    check(lp(api, b"not gzip at all", HTTP_CONTENT_ENCODING="gzip"), 400, "invalid", "not valid gzip")


def test_truncated_gzip_is_400(api: APIClient) -> None:
    check(lp(api, gzip.compress(GOOD.encode())[:-12], HTTP_CONTENT_ENCODING="gzip"), 400, "invalid", "truncated")


def test_unknown_content_encoding_is_415(api: APIClient) -> None:
    check(lp(api, GOOD, HTTP_CONTENT_ENCODING="br"), 415, "unsupported_media_type", "Content-Encoding 'br'")


def test_unknown_content_type_is_415(api: APIClient) -> None:
    response = lp(api, GOOD, url="/api/v1/metrics?precision=s", content_type="application/xml")
    check(response, 415, "unsupported_media_type", "application/xml")


def test_v2_write_reads_line_protocol_whatever_the_content_type(api: APIClient) -> None:
    assert lp(api, GOOD, content_type="application/json").status_code == 204  # like InfluxDB
    assert DataPoint.objects.count() == 1


# --- JSON shape -----------------------------------------------------------------------------------


def test_json_list_error_names_item_and_field(api: APIClient) -> None:
    body = [{"device": "d", "metrics": {"v": 1}}, {"device": "d", "metrics": {"v": 1}, "timestamp": "yesterday"}]
    result = check(js(api, body), 400, "invalid", "item 1: timestamp: 'yesterday' is not an ISO 8601 time")
    assert result["index"] == 1


def test_json_missing_metrics(api: APIClient) -> None:
    result = check(js(api, [{"device": "d", "metrics": {"v": 1}}, {"device": "d"}]), 400, "invalid", "item 1: metrics:")
    assert result["index"] == 1


def test_json_nan_is_rejected(api: APIClient) -> None:
    raw = '{"device": "d", "metrics": {"cpu": NaN}}'
    response = api.post("/api/v1/metrics", data=raw, content_type="application/json")
    check(response, 400, "invalid", "field 'cpu' is nan; NaN and infinite values are not stored")


def test_json_nested_metric_value(api: APIClient) -> None:
    check(js(api, {"device": "d", "metrics": {"cpu": {"a": 1}}}), 400, "invalid", "field 'cpu' must be a number")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\nb", "contains a control character"),
        ("ends\\", "has a backslash at its end"),
        ("", "must not be empty"),
    ],
)
def test_json_hostile_tag_values_are_rejected_clearly(api: APIClient, value: str, message: str) -> None:
    body = {"device": "d", "metrics": {"v": 1}, "tags": {"t": value}}
    check(js(api, body), 400, "invalid", f"body: value of tag 't' {message}")


def test_json_syntax_error(api: APIClient) -> None:
    raw = '{"device": "d",\n "metrics": {"v": 1,}}'
    check(
        api.post("/api/v1/metrics", data=raw, content_type="application/json"), 400, "invalid", "line 2, column", line=2
    )


def test_json_device_disagrees_with_tag(api: APIClient) -> None:
    check(js(api, {"device": "d", "tags": {"device": "d2"}, "metrics": {"v": 1}}), 400, "invalid", "disagree")


def test_json_too_many_items_is_413(api: APIClient, settings: Any) -> None:
    settings.INGEST_MAX_LINES = 2
    check(js(api, [{"device": "d", "metrics": {"v": i}} for i in range(3)]), 413, "request_too_large", "3 points")


@pytest.mark.django_db
def test_a_database_fault_is_a_500_that_leaks_no_sql(org, issue_key, settings):
    from django.db import connection

    settings.DEBUG = False
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute("DROP TABLE ingest_fieldtype CASCADE")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_key(org, ['metrics:write'])}")

    response = client.post("/api/v2/write", data="cpu,device=edge-01 a=1", content_type="text/plain")

    assert response.status_code == 500
    assert b"ingest_fieldtype" not in response.content and b"SELECT" not in response.content


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"device": "d", "metrics": {"v": 1}, "tags": {"rack": 3}}, "body: tags.rack: must be a JSON string, not 3"),
        ({"device": "d", "metrics": {"v": 1}, "tags": {"up": True}}, "body: tags.up: must be a JSON string, not true"),
        ({"device": "d", "metrics": {"v": 1}, "tags": {"r": 1.5}}, "body: tags.r: must be a JSON string, not 1.5"),
        ({"device": 7, "metrics": {"v": 1}}, "body: device: must be a JSON string, not 7"),
        ({"device": "d", "measurement": 5, "metrics": {"v": 1}}, "body: measurement: must be a JSON string, not 5"),
    ],
)
def test_json_non_string_tag_values_are_refused_not_stored_as_text(
    api: APIClient, item: dict[str, Any], message: str
) -> None:
    # Line protocol tags are always text; a JSON number there is a client bug, so it is named, not coerced.
    check(js(api, item), 400, "invalid", message)
    assert_nothing_written()
    assert not Device.objects.filter(name="7").exists()


@pytest.mark.parametrize("declared", ["-1", "12abc"])
def test_invalid_content_length_is_400(api: APIClient, declared: str) -> None:
    check(lp(api, GOOD, CONTENT_LENGTH=declared), 400, "invalid", f"invalid Content-Length {declared!r}")


def test_writes_answer_whatever_the_client_accepts(api: APIClient) -> None:
    """No 406: a write answers 204 or a JSON error to any Accept (its answers have one shape)."""
    check(lp(api, "m,device=d v= 1", HTTP_ACCEPT="text/html"), 400, "invalid", "line 1", line=1)
    assert_nothing_written()
    assert lp(api, GOOD, HTTP_ACCEPT="text/html").status_code == 204
    assert list(DataPoint.objects.values_list("field", "value_float")) == [("v", 1.0)]
