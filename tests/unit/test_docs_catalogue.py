"""docs/catalogue.md against the code: its record shows every field the API answers, and its
commands are those of ``nfvo image``."""

from __future__ import annotations

import json
import re

from nfvo.api.images import ImageDetailOut, PlacementOut
from nfvo.cli_images import image
from tests.unit.test_docs import DOCS, blocks


def test_the_record_shows_every_field_of_the_answer():
    [record] = [json.loads(text) for _, markers, text in blocks("catalogue.md") if "record" in markers]
    assert set(record) == set(ImageDetailOut().fields) | {"placements"}
    assert set(record["placements"][0]) == set(PlacementOut().fields)


def test_every_command_shown_exists():
    text = (DOCS / "catalogue.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"^nfvo image (\w+)", text, re.MULTILINE))
    assert shown and shown <= set(image.commands)
