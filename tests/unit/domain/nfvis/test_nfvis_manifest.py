"""package.mf: expected digests, listing against the package, digest comparison."""

import hashlib

from nfvo.domain.nfvis.manifest import check_digests, check_listing, new_digests, parse_manifest
from tests.unit.domain.nfvis import samples

SHA256_A = hashlib.sha256(b"a").hexdigest()
SHA1_A = hashlib.sha1(b"a").hexdigest()


def mf(*infos: str, head: str = "<!-- sha256sum - for calculating checksum -->\n<PackageContents>") -> str:
    return head + "\n" + "\n".join(infos) + "\n</PackageContents>\n"


def info(name: str, *checksums: str, kind: str = "unknown") -> str:
    return f"<File_Info><name>{name}</name><type>{kind}</type>{''.join(checksums)}</File_Info>"


def sha256(value: str = SHA256_A) -> str:
    return f"<sha256_checksum>{value}</sha256_checksum>"


def sha1(value: str = SHA1_A) -> str:
    return f"<sha1_checksum>{value}</sha1_checksum>"


def test_the_samples_manifests_list_every_file_with_its_sha256():
    files = samples.router()
    manifest, issues = parse_manifest(files["package.mf"])
    assert issues == []
    assert [e.name for e in manifest.entries] == ["router.qcow2", "image_properties.xml", "iosxe_config.txt"]
    assert manifest.expected("iosxe_config.txt") == {"sha256": hashlib.sha256(files["iosxe_config.txt"]).hexdigest()}
    assert [e.name for e in manifest.of_type("root_image")] == ["router.qcow2"]
    assert check_listing(manifest, files) == []


def test_older_sha1_only_manifests_are_read_with_a_warning():
    manifest, issues = parse_manifest(mf(info("a.txt", sha1())))
    assert manifest.expected("a.txt") == {"sha1": SHA1_A}
    assert [(i.severity, i.line, i.pointer) for i in issues] == [
        ("warning", 3, "/PackageContents/File_Info")]
    assert "only a SHA-1 checksum" in issues[0].message


def test_both_checksums_are_kept():
    manifest, issues = parse_manifest(mf(info("a.txt", sha256(SHA256_A.upper()), sha1())))
    assert issues == []
    assert manifest.expected("./a.txt") == {"sha256": SHA256_A, "sha1": SHA1_A}


def test_packaging_version_is_kept():
    manifest, issues = parse_manifest(mf(info("a.txt", sha256()), "<Packaging_Version>1.0</Packaging_Version>"))
    assert issues == [] and manifest.packaging_version == "1.0"


def test_every_problem_at_once_with_line_and_path():
    text = mf(
        info("a.txt", sha256()),                      # line 3
        info("a.txt", sha256()),                      # 4: twice
        info("../etc/passwd", sha256()),              # 5: unsafe
        "<File_Info><type>unknown</type></File_Info>",  # 6: no name
        info("b.txt"),                                # 7: no checksum
        info("c.txt", sha256("abc")),                 # 8: not 64 hex digits
        info("d.txt", sha256(), kind="firmware"),     # 9: unknown type
        "<Signature/>",                               # 10
    )
    manifest, issues = parse_manifest(text)
    found = {(i.line, i.pointer, i.severity): i.message for i in issues}
    assert found == {
        (4, "/PackageContents/File_Info[2]", "error"): "'a.txt' is listed twice (first at line 3)",
        (5, "/PackageContents/File_Info[3]/name", "error"): "file name '../etc/passwd': '..' in path",
        (6, "/PackageContents/File_Info[4]", "error"): "a <File_Info> needs a <name>",
        (7, "/PackageContents/File_Info[5]", "error"): "'b.txt' has no <sha256_checksum> (nor <sha1_checksum>)",
        (8, "/PackageContents/File_Info[6]/sha256_checksum", "error"):
            "the sha256 checksum of 'c.txt' must be 64 hex digits (got 'abc')",
        (9, "/PackageContents/File_Info[7]/type", "warning"):
            "unknown file type 'firmware' (known: root_image, ephemeral_disk<N>_image, image_properties, "
            "system_generated_properties, bootstrap_file, bootstrap_file_<N>, unknown)",
        (10, "/PackageContents/Signature", "warning"): "unknown element <Signature> is ignored",
    }
    assert [e.name for e in manifest.entries] == ["a.txt", "b.txt", "c.txt", "d.txt"]


def test_another_root_element_is_an_error():
    manifest, issues = parse_manifest("<Manifest/>")
    assert manifest is None
    assert [(i.file, i.line, i.message) for i in issues] == [
        ("package.mf", 1, "the root element must be <PackageContents>, not <Manifest>")]


def test_listing_reports_absent_and_unlisted_files():
    manifest, _ = parse_manifest(mf(info("a.txt", sha256()), info("gone.qcow2", sha256())))
    issues = check_listing(manifest, ["a.txt", "extra.txt", "package.mf", "._a.txt"])
    assert [(i.file, i.line, i.severity, i.message) for i in issues] == [
        ("package.mf", 4, "error", "'gone.qcow2' is listed but not in the package"),
        ("extra.txt", None, "warning", "not listed in package.mf: its checksum is not verified"),
    ]


def test_digests_computed_while_streaming_are_compared():
    manifest, _ = parse_manifest(mf(info("a.txt", sha256(), sha1()), info("b.txt", sha256())))
    digests = new_digests(manifest, "a.txt")
    assert sorted(digests) == ["sha1", "sha256"]
    for chunk in (b"a",):
        for digest in digests.values():
            digest.update(chunk)
    good = {name: d.hexdigest() for name, d in digests.items()}
    assert check_digests(manifest, {"a.txt": good}) == []
    wrong = hashlib.sha256(b"b").hexdigest()
    issues = check_digests(manifest, {"a.txt": {**good, "sha256": wrong}, "b.txt": {"sha256": wrong},
                                      "unlisted": {"sha256": wrong}})
    assert [(i.file, i.line, i.pointer, i.message) for i in issues] == [
        ("package.mf", 3, "/PackageContents/File_Info[1]/sha256_checksum",
         f"a.txt has sha256 {wrong}, package.mf says {SHA256_A}"),
        ("package.mf", 4, "/PackageContents/File_Info[2]/sha256_checksum",
         f"b.txt has sha256 {wrong}, package.mf says {SHA256_A}"),
    ]


def test_an_algorithm_not_computed_is_not_judged():
    manifest, _ = parse_manifest(mf(info("a.txt", sha256(), sha1())))
    assert check_digests(manifest, {"a.txt": {"sha1": SHA1_A}}) == []
    assert new_digests(manifest, "not-listed") == {}
