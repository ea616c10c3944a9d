"""Tests of the NSD checks (no database: references are only parsed here)."""

import json
from pathlib import Path

from nfvo.domain.nsd import Inline, Reference, check_nsd, dependency_issues, parse_reference

VNFD = json.loads((Path(__file__).resolve().parents[3] / "examples" / "iperf-server" / "vnfd.json").read_text())
UUID = "0b6f2c4e-3a1d-4c5e-9f7a-1e2d3c4b5a69"


def pointers(issues):
    return [i.pointer for i in issues]


def test_reference_forms_and_inline_vnfd():
    draft, issues = check_nsd({"name": "ns", "vnfd": [{"id": UUID}, {"id": "FOKUS/iperf/1.0"}, VNFD]})
    assert issues == []
    assert draft.entries[:2] == (Reference("/vnfd/0", id=UUID),
                                 Reference("/vnfd/1", vendor="FOKUS", name="iperf", version="1.0"))
    assert isinstance(draft.entries[2], Inline) and draft.entries[2].body["name"] == "iperf-server"
    assert draft.complete and draft.name == "ns"


def test_parse_reference_rejects_other_strings():
    assert parse_reference("/p", UUID.upper()).id == UUID
    assert parse_reference("/p", "a/b") is None
    assert parse_reference("/p", "a//c") is None
    assert parse_reference("/p", "x" * 36) is None


def test_all_problems_are_collected_with_pointers():
    data = {"vnfd": [{"id": "nope"}, 3, {"name": "half", "vdu": []}, {"id": UUID}],
            "vld": [{"name": "a"}, {"name": "a"}, {}], "vnf_dependency": {}}
    draft, issues = check_nsd(data)
    assert all(i.file is None for i in issues)
    assert set(pointers(issues)) >= {"/name", "/vnfd/0/id", "/vnfd/1", "/vnfd/2/vdu", "/vnfd/2/type",
                                     "/vnfd/2/vendor", "/vld/1/name", "/vld/2/name", "/vnf_dependency"}
    # the valid reference is still handed over, so that the service reports unknown ones too
    assert draft.entries == (Reference("/vnfd/3", id=UUID),) and not draft.complete


def test_vnfd_list_is_required_and_not_empty():
    assert pointers(check_nsd({"name": "ns"})[1]) == ["/vnfd"]
    assert pointers(check_nsd({"name": "ns", "vnfd": []})[1]) == ["/vnfd"]
    draft, issues = check_nsd([])
    assert draft is None and pointers(issues) == [""]


def test_dependencies_must_name_vnfds_of_the_nsd():
    data = {"vnf_dependency": [{"source": {"name": "a"}, "target": "ghost"}, {"source": {}}, 7]}
    assert pointers(dependency_issues(data, {"a", "b"})) == [
        "/vnf_dependency/0/target", "/vnf_dependency/1/source/name", "/vnf_dependency/1/target",
        "/vnf_dependency/2"]
    # names unknown (some reference unresolved): only the shape is checked
    assert pointers(dependency_issues(data, None)) == [
        "/vnf_dependency/1/source/name", "/vnf_dependency/1/target", "/vnf_dependency/2"]
