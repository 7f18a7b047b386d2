"""Line protocol parser and serializer: exact values, exact error positions, and round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.lineprotocol import LineProtocolError, ParsedLine, TooManyPoints, format_line, parse


def one(text: str, precision: str = "ns") -> ParsedLine:
    (line,) = parse(text, precision=precision)
    return line


def test_parses_every_field_type_and_timestamp() -> None:
    line = one('cpu,host=a,region=eu f=1.5,i=-3i,u=7u,s="x",t=t,T=TRUE,f2=False,e=1e3 1700000000000000000')
    assert line.measurement == "cpu"
    assert line.tags == {"host": "a", "region": "eu"}
    assert line.fields == {"f": 1.5, "i": -3, "u": 7, "s": "x", "t": True, "T": True, "f2": False, "e": 1000.0}
    assert type(line.fields["i"]) is int and type(line.fields["f"]) is float
    assert line.timestamp == 1700000000000000000


@pytest.mark.parametrize("token", ["t", "T", "true", "True", "TRUE"])
def test_true_spellings(token: str) -> None:
    assert one(f"m v={token}").fields == {"v": True}


@pytest.mark.parametrize("token", ["f", "F", "false", "False", "FALSE"])
def test_false_spellings(token: str) -> None:
    assert one(f"m v={token}").fields == {"v": False}


def test_escapes_in_every_position() -> None:
    line = one(r'my\ meas\,x,ta\ g\=k=v\,a\ l\=ue fi\,eld\ k\=y="q\"uo\\te" 5')
    assert line.measurement == "my meas,x"
    assert line.tags == {"ta g=k": "v,a l=ue"}
    assert line.fields == {"fi,eld k=y": 'q"uo\\te'}
    assert line.timestamp == 5


def test_backslash_before_other_characters_is_literal() -> None:
    line = one(r'm\x,t=a\b v="a\nb"')
    assert line.measurement == "m\\x"
    assert line.tags == {"t": "a\\b"}
    assert line.fields == {"v": "a\\nb"}


def test_comments_blank_lines_and_crlf_are_skipped() -> None:
    lines = parse("# header\n\n   \r\nm v=1 1\r\n  # indented comment\nm v=2 2\n")
    assert [(p.fields["v"], p.timestamp, p.line) for p in lines] == [(1.0, 1, 4), (2.0, 2, 6)]


def test_no_timestamp_is_none_and_unicode_survives() -> None:
    line = one('température,lieu=café° valeur=1,ünï="日本"')
    assert line.measurement == "température"
    assert line.tags == {"lieu": "café°"}
    assert line.fields == {"valeur": 1.0, "ünï": "日本"}
    assert line.timestamp is None


def test_spaces_in_string_fields_and_commas_inside_quotes() -> None:
    assert one('m s="a, b=c d",n=1i 9').fields == {"s": "a, b=c d", "n": 1}


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("m v=1\nm v=2\ncpu,host=a usage=12x", 3, 18, 'invalid field value "12x"'),
        ("cpu", 1, 4, "missing fields"),
        ("cpu ", 1, 5, "missing fields"),
        (",t=a v=1", 1, 1, "missing measurement"),
        ("cpu,host v=1", 1, 9, "missing '=' after tag key \"host\""),
        ("cpu,=a v=1", 1, 5, "missing tag key"),
        ("cpu,h= v=1", 1, 7, 'missing value for tag "h"'),
        ("cpu,a=b=c v=1", 1, 8, "unescaped '=' in value of tag \"a\""),
        ("cpu,a=1,a=2 v=1", 1, 9, 'duplicate tag "a"'),
        ("cpu v", 1, 6, "missing '=' after field key \"v\""),
        ("cpu v=", 1, 7, 'missing value for field "v"'),
        ("cpu =1", 1, 5, "missing field key"),
        ('cpu v="abc', 1, 7, 'unterminated string value of field "v"'),
        ('cpu v="a"x', 1, 10, 'unexpected character "x" after string value of field "v"'),
        ("cpu v=1 12a", 1, 9, 'invalid timestamp "12a"'),
        ("cpu v=1 1 2", 1, 9, 'invalid timestamp "1 2"'),
        ("cpu v=NaN", 1, 7, 'invalid field value "NaN"'),
        ("cpu v=inf", 1, 7, 'invalid field value "inf"'),
        ("cpu v=1.2.3", 1, 7, 'invalid field value "1.2.3"'),
        ("cpu v=9223372036854775808i", 1, 7, "integer out of range"),
        ("cpu v=-1u", 1, 7, 'invalid field value "-1u"'),
        ("cpu v=1 99999999999999999999", 1, 9, "timestamp out of range"),
    ],
)
def test_errors_name_line_and_column(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(LineProtocolError) as caught:
        parse(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert message in caught.value.reason
    assert str(caught.value).startswith(f"line {line}, column {column}: ")


def test_max_points_stops_early_but_ignores_trailing_comments() -> None:
    assert len(parse("m v=1\nm v=2\n# end\n\n", max_points=2)) == 2
    with pytest.raises(TooManyPoints):
        parse("m v=1\nm v=2\nm v=3\n" + "not even parsed\n" * 10, max_points=2)


def test_unknown_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="precision"):
        parse("m v=1", precision="m")


def test_serializer_escapes_and_sorts_tags() -> None:
    text = format_line("m e,a", {"z": "1", "a b": "x=y,z"}, {"f k": 1.5, "s": 'say "hi" \\o/', "i": 3, "b": False}, 7)
    assert text == r'm\ e\,a,a\ b=x\=y\,z,z=1 f\ k=1.5,s="say \"hi\" \\o/",i=3i,b=false 7'
    back = one(text)
    assert back.tags == {"z": "1", "a b": "x=y,z"}
    assert back.fields == {"f k": 1.5, "s": 'say "hi" \\o/', "i": 3, "b": False}


@pytest.mark.parametrize(
    ("tags", "fields", "message"),
    [
        ({"t": "ends\\"}, {"v": 1.0}, "ends with a backslash"),
        ({"t": "a\nb"}, {"v": 1.0}, "line break"),
        ({}, {"v": math.nan}, "NaN"),
        ({}, {"v": "two\nlines"}, "line breaks"),
        ({}, {}, "at least one field"),
    ],
)
def test_serializer_refuses_what_cannot_round_trip(
    tags: dict[str, str], fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        format_line("m", tags, fields)  # type: ignore[arg-type]


# --- property: whatever the serializer writes, the parser reads back identically ----------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), min_size=1, max_size=12
).filter(lambda s: not s.endswith("\\") and s[0] not in " \t#" and s.strip(" ") == s)
_field_value = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(
    measurement=_text,
    tags=st.dictionaries(_text, _text, max_size=4),
    fields=st.dictionaries(_text, _field_value, min_size=1, max_size=4),
    timestamp=st.one_of(st.none(), st.integers(min_value=-(2**62), max_value=2**62)),
)
def test_round_trip(measurement: str, tags: dict[str, str], fields: dict[str, object], timestamp: int | None) -> None:
    text = format_line(measurement, tags, fields, timestamp)  # type: ignore[arg-type]
    back = one(text)
    assert back.measurement == measurement
    assert back.tags == tags
    assert back.fields == fields
    assert [type(v) for v in back.fields.values()] == [type(v) for v in fields.values()]
    assert back.timestamp == timestamp


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_input_parses_or_raises_a_positioned_error(text: str) -> None:
    try:
        parse(text)
    except LineProtocolError as exc:
        assert exc.line >= 1 and exc.column >= 1
