"""SOL013 filters, attribute selectors and byte ranges (pure)."""

from __future__ import annotations

import pytest

from nfvo.domain.sol013 import RangeError, byte_range, known_path, matches, parse_filter, parse_selection
from nfvo.errors import BadRequest

KNOWN = known_path({"id", "state", "images", "data"}, {"images": ("name", "size"), "data": ("*",)})
DOC = {"id": "p1", "state": "ONBOARDED", "images": [{"name": "a,b", "size": 10}, {"name": "c", "size": 3}],
       "data": {"team": "lab"}}


@pytest.mark.parametrize(("expression", "expected"), [
    ("(eq,state,ONBOARDED)", True),
    ("(neq,state,ONBOARDED)", False),
    ("(in,state,CREATED,ONBOARDED)", True),
    ("(nin,state,CREATED,ERROR)", True),
    ("(eq,images/name,'a,b')", True),
    ("(eq,images/name,x)", False),
    ("(gt,images/size,9)", True),
    ("(lt,images/size,3)", False),
    ("(cont,data/team,la);(eq,id,p1)", True),
    ("(ncont,images/name,c)", False),
    ("(eq,data/team,'it''s')", False),
])
def test_filters(expression, expected):
    assert matches(DOC, parse_filter(expression, KNOWN)) is expected


def test_every_problem_of_a_filter_is_reported_at_once():
    with pytest.raises(BadRequest) as caught:
        parse_filter("(eq,nope,1);(like,id,1);(gt,id,1,2)x", KNOWN)
    messages = [e.message for e in caught.value.errors]
    assert len(messages) == 4 and "'nope'" in messages[0] and "like" in messages[1]
    assert {e.pointer for e in caught.value.errors} == {"/filter"}


def test_selectors():
    assert parse_selection({}, KNOWN).apply(DOC, ("images", "data")) == {"id": "p1", "state": "ONBOARDED"}
    assert parse_selection({"all_fields": ""}, KNOWN).apply(DOC, ("images",)) == DOC
    fields = parse_selection({"fields": "images/name"}, KNOWN).apply(DOC, ("images", "data"))
    assert fields["images"] == [{"name": "a,b"}, {"name": "c"}] and "data" not in fields
    assert "images" not in parse_selection({"exclude_fields": "images"}, KNOWN).apply(DOC, ())
    for bad in ({"fields": "bogus"}, {"all_fields": "", "fields": "id"}):
        with pytest.raises(BadRequest):
            parse_selection(bad, KNOWN)


def test_byte_ranges():
    assert byte_range(None, 10) is None
    assert byte_range("bytes=2-4", 10) == (2, 4)
    assert byte_range("bytes=8-", 10) == (8, 9)
    assert byte_range("bytes=-3", 10) == (7, 9)
    assert byte_range("bytes=5-100", 10) == (5, 9)
    for bad in ("bytes=10-", "bytes=4-2", "bytes=1-2,4-5", "items=1-2", "bytes=-0", "bytes=-"):
        with pytest.raises(RangeError):
            byte_range(bad, 10)
