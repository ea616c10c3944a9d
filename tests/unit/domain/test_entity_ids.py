"""with_entity_ids: every object that is a list item gets an id; given ids stay."""

from __future__ import annotations

import itertools

from nfvo.domain.entity_ids import with_entity_ids


def counter():
    numbers = itertools.count(1)
    return lambda: f"id-{next(numbers)}"


def test_list_items_at_every_depth_get_ids_and_nothing_else_changes():
    vnfd = {"name": "v", "vdu": [{"vm_image": ["img"], "vnfc": [{"connection_point": [{"virtual_link_reference": "p"}]}]}],
            "virtual_link": [{"name": "p"}], "requires": {"x": {"parameters": ["a"]}}, "configurations": {"name": "c"}}
    out = with_entity_ids(vnfd, counter())
    assert "id" not in out and out["requires"] == {"x": {"parameters": ["a"]}} and out["configurations"] == {"name": "c"}
    vdu = out["vdu"][0]
    assert vdu["vm_image"] == ["img"] and vdu["id"]
    assert vdu["vnfc"][0]["id"] and vdu["vnfc"][0]["connection_point"][0]["id"]
    assert vdu["vnfc"][0]["connection_point"][0]["virtual_link_reference"] == "p"
    assert out["virtual_link"] == [{"name": "p", "id": out["virtual_link"][0]["id"]}]
    ids = [vdu["id"], vdu["vnfc"][0]["id"], vdu["vnfc"][0]["connection_point"][0]["id"], out["virtual_link"][0]["id"]]
    assert len(set(ids)) == 4
    assert "id" not in vnfd["vdu"][0], "the input is not changed"


def test_given_string_ids_are_kept_and_a_second_pass_changes_nothing():
    nsd = {"vld": [{"id": "keep-me", "name": "a"}, {"id": "", "name": "b"}, {"id": 7, "name": "c"}]}
    out = with_entity_ids(nsd, counter())
    assert [v["id"] for v in out["vld"]] == ["keep-me", "id-1", "id-2"]
    assert with_entity_ids(out, counter()) == out


def test_verbatim_keys_are_left_as_written():
    document = {"vdu": [{"name": "a"}], "sonata": {"virtual_links": [{"name": "no id here"}]}}
    shown = with_entity_ids(document, lambda: "new", verbatim=("sonata",))
    assert shown == {"vdu": [{"name": "a", "id": "new"}], "sonata": document["sonata"]}
