"""partnerdata.jsontext.loads answers as json.loads does, value for value and error for error."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partnerdata import jsontext

VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


def same(a, b) -> bool:
    """Equal, with the types too (1 is not 1.0 here)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=400, deadline=None)
@given(VALUES, st.booleans())
def test_the_same_values_as_json_loads(value, as_bytes):
    text = json.dumps(value, ensure_ascii=False)
    data = text.encode() if as_bytes else text
    assert same(jsontext.loads(data), json.loads(data))


@pytest.mark.parametrize(
    "text",
    ["NaN", "[Infinity, -Infinity]", "1e400", "123456789012345678901234", '{"a": 1, "a": 2}', '"\\ud800"', "[1.0, 2]"],
)
def test_what_orjson_refuses_or_reads_otherwise_is_read_by_the_standard_library(text):
    assert same(jsontext.loads(text), json.loads(text))


@pytest.mark.parametrize("text", ["{", '{"a": }', "[1,]", "", "nul"])
def test_invalid_json_raises_the_standard_librarys_error(text):
    with pytest.raises(json.JSONDecodeError) as ours:
        jsontext.loads(text)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    assert (ours.value.msg, ours.value.lineno, ours.value.colno) == (
        theirs.value.msg,
        theirs.value.lineno,
        theirs.value.colno,
    )
