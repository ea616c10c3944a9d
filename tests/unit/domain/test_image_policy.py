"""The Open Baton image-resolution rules, as a pure decision table."""

from __future__ import annotations

import dataclasses

import pytest

from nfvo.domain.images import UPLOAD_VALUES, Decision, ImageConfig, ImageRequest, decide, lookups_needed, upload_value
from nfvo.errors import ImageResolutionFailed

CONFIG = ImageConfig(name="ubuntu")


def request(upload, ids=(), names=(), *, file="images/ubuntu.qcow2", link=None, key="image", line=12):
    return ImageRequest(key=key, upload=upload, ids=tuple(ids), names=tuple(names), file=file, link=link,
                        config=CONFIG, source_line=line)


# (row, request, by_ids, by_names, expected Decision | (pointer, [substrings of the error]))
ROWS = [
    ("true uploads even if the name exists", request("true", names=["ubuntu"]), {}, {"ubuntu": ["i1"]},
     Decision("upload", reason="upload: true")),
    ("true as a YAML boolean", request(True, link="https://x/u.img", file=None), {}, {},
     Decision("upload", reason="upload: true")),
    ("false, id found", request("false", ids=["i1"], names=["ubuntu"]), {"i1": ["i1"]}, {"ubuntu": ["i2"]},
     Decision("use", "i1", "found by id i1")),
    ("false, the same image under two ids", request("false", ids=["i1", "i1"]), {"i1": ["i1"]}, {},
     Decision("use", "i1", "found by id i1")),
    ("false, two ids match two images", request("false", ids=["i1", "i2"]), {"i1": ["i1"], "i2": ["i2"]}, {},
     ("/image/ids", ["ids ['i1', 'i2']", "2 images", "VIM 'vim-a'", "i1, i2"])),
    ("false, id missing, name found", request("false", ids=["gone"], names=["ubuntu"]), {"gone": []},
     {"ubuntu": ["i2"]}, Decision("use", "i2", "found by name ubuntu (image i2)")),
    ("false, name found twice", request("false", names=["ubuntu"]), {}, {"ubuntu": ["i1", "i2"]},
     ("/image/names", ["names ['ubuntu']", "2 images", "VIM 'vim-a'", "i1, i2"])),
    ("false, two names match two images", request("false", names=["a", "b"]), {}, {"a": ["i1"], "b": ["i2"]},
     ("/image/names", ["names ['a', 'b']", "i1, i2"])),
    ("false, nothing found", request("false", ids=["gone"], names=["ubuntu"]), {"gone": []}, {"ubuntu": []},
     ("/image/upload", ["upload: false", "ids ['gone'] or names ['ubuntu']", "VIM 'vim-a'", "use upload: check"])),
    ("false, nothing asked", request("false"), {}, {},
     ("/image/upload", ["none given", "use upload: check"])),
    ("check, found by id", request("check", ids=["i1"]), {"i1": ["i1"]}, {}, Decision("use", "i1", "found by id i1")),
    ("check, found by name", request("check", names=["ubuntu"]), {}, {"ubuntu": ["i3"]},
     Decision("use", "i3", "found by name ubuntu (image i3)")),
    ("check, nothing found uploads", request("check", ids=["gone"], names=["ubuntu"]), {}, {},
     Decision("upload", reason="upload: check, no image found by ids ['gone'] or names ['ubuntu'] on VIM 'vim-a'")),
    ("check, name found twice", request("check", names=["ubuntu"]), {}, {"ubuntu": ["i1", "i2"]},
     ("/image/names", ["2 images"])),
    ("ids win over names", request("check", ids=["i1"], names=["ubuntu"]), {"i1": ["i1"]}, {"ubuntu": ["i9"]},
     Decision("use", "i1", "found by id i1")),
    ("check, nothing found, nothing to upload", request("check", names=["ubuntu"], file=None), {}, {},
     ("/image/upload", ["neither a link nor a file"])),
    ("unknown upload value", request("maybe"), {}, {}, ("/image/upload", ["'true', 'false' or 'check'"])),
]


@pytest.mark.parametrize("row, req, by_ids, by_names, expected", ROWS, ids=[r[0] for r in ROWS])
def test_decision_table(row, req, by_ids, by_names, expected):
    if isinstance(expected, Decision):
        assert decide(req, by_ids=by_ids, by_names=by_names, vim_name="vim-a") == expected
        return
    pointer, fragments = expected
    with pytest.raises(ImageResolutionFailed) as info:
        decide(req, by_ids=by_ids, by_names=by_names, vim_name="vim-a")
    err = info.value
    assert [(i.file, i.line, i.pointer) for i in err.errors] == [("Metadata.yaml", 12, pointer)]
    for fragment in fragments:
        assert fragment in err.detail and fragment in err.errors[0].message
    assert err.to_problem()["status"] == 422


def test_lookups_needed_only_when_not_upload_true():
    assert [lookups_needed(request(u)) for u in ("true", True, "TRUE", "false", False, "check")] == [
        False, False, False, True, True, True,
    ]


def test_pointer_uses_the_request_key_escaped():
    req = request("false", key="web/~server", line=None)
    with pytest.raises(ImageResolutionFailed) as info:
        decide(req, by_ids={}, by_names={}, vim_name="v")
    assert (info.value.errors[0].pointer, info.value.errors[0].line) == ("/web~1~0server/upload", None)


@pytest.mark.parametrize("written, value", [
    (True, "true"), (False, "false"), ("true", "true"), (" TRUE ", "true"), ("Check", "check"), ("false", "false"),
    ("maybe", None), (1, None), (None, None), ("", None),
])
def test_one_normalisation_of_upload(written, value):
    assert UPLOAD_VALUES == ("true", "false", "check")
    assert upload_value(written) == value


def test_block_pointer_defaults_to_the_escaped_key():
    assert request("true", key="a/b~c").block_pointer == "/a~1b~0c"
    assert dataclasses.replace(request("true"), pointer="/images/x").block_pointer == "/images/x"


def test_a_rule_nfvo_derived_is_reported_in_the_format_s_words():
    # A CSAR states no upload rule: an image without a file or URL must be on the VIM by name.
    derived = ImageRequest(key="vdu1", upload="false", names=("cirros",), config=CONFIG, source_line=30,
                           pointer="/topology_template/node_templates/vdu1/properties/sw_image_data",
                           source_file="Definitions/vnfd.yaml", stated=False)
    with pytest.raises(ImageResolutionFailed) as caught:
        decide(derived, by_ids={}, by_names={}, vim_name="vim-a")
    [issue] = caught.value.errors
    assert (issue.file, issue.line, issue.pointer) == ("Definitions/vnfd.yaml", 30, derived.pointer)
    assert issue.message == ("no image found by names ['cirros'] on VIM 'vim-a', and the package has neither a file "
                             "nor a URL for image 'vdu1': put the image on the VIM, or add it to the package")
    assert "upload" not in issue.message
