"""docs/sonata.md against the code: its valid function descriptor is valid, its broken one gives
exactly the findings shown, and the example package it names is valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nfvo.domain.archive import ArchiveLimits
from nfvo.domain.sonata.package import read_descriptor
from nfvo.errors import ValidationFailed
from nfvo.validate import validate_path
from tests.unit.test_docs import blocks

ROOT = Path(__file__).resolve().parents[2]


def test_the_valid_descriptor_has_no_finding():
    [(_, markers, text)] = [b for b in blocks("sonata.md") if "file" in b[1]]
    package = read_descriptor(text, markers["file"])
    assert package.warnings == () and package.name == "iperf-vnf"


def test_the_broken_descriptor_gives_the_findings_shown():
    [(_, markers, text)] = [b for b in blocks("sonata.md") if "broken" in b[1]]
    [shown] = [json.loads(t) for _, m, t in blocks("sonata.md") if m.get("findings") == markers["broken"]]
    with pytest.raises(ValidationFailed) as refused:
        read_descriptor(text, markers["broken"])
    assert [e.to_dict() for e in refused.value.errors] == shown


def test_the_example_package_is_valid():
    validated = validate_path(ROOT / "examples" / "sonata-iperf", ArchiveLimits())
    assert validated.summary[0].endswith("is a valid SONATA package.")
