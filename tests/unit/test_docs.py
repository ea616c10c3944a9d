"""The documentation in docs/ against the code: error slugs, settings, example packages, example driver.

Conventions for fenced code blocks in docs/*.md (the words after the language are
``key=value`` markers; Markdown renderers use only the first word for highlighting):

* ```` ```yaml file=Metadata.yaml ```` in docs/packages.md: a file of the valid example
  package, at that path inside the package.  All such blocks together (plus a placeholder
  ``images/iperf.raw``, a binary file the doc describes but cannot show) form a package
  that ``read_package`` must accept; they must also equal ``examples/iperf-server``.
* ```` ```yaml file=Metadata.yaml expect=error example=NAME ````: a broken variant; the
  package is the valid example with that one file replaced.
* ```` ```json problem=NAME ````: the problem document the broken variant NAME yields when
  uploaded as ``broken.tar``; its ``errors`` (file, line, pointer, message), ``type``,
  ``title``, ``status`` and ``detail`` must match exactly (``instance`` is added by the API
  and ignored here).
* ```` ```python file=NAME.py ```` / ```` ```toml file=pyproject.toml ```` in
  docs/plugins.md: the example driver distribution and its conformance test module; they
  are written to a temporary directory and the test module is run with pytest.
* ```` ```json openapi=securitySchemes ```` in docs/quickstart.md: the OpenAPI document's
  security schemes (``nfvo.api.security.SECURITY_SCHEMES``) without their descriptions.

Slugs named by docs/errors.md are its ``## `slug` `` headings and the
``https://nfvo.dev/problems/<slug>`` URIs it shows.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

from nfvo import drivers
from nfvo.domain import openbaton
from nfvo.domain.archive import PackageArchive
from nfvo.errors import ValidationFailed, all_error_classes

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def blocks(doc: str) -> list[tuple[str, dict[str, str], str]]:
    """(language, markers, content) of every fenced block of ``docs/<doc>``."""
    found = []
    for match in FENCE.finditer((DOCS / doc).read_text(encoding="utf-8")):
        words = match.group(1).split()
        language = words[0] if words and "=" not in words[0] else ""
        markers = dict(w.split("=", 1) for w in words if "=" in w)
        found.append((language, markers, match.group(2)))
    return found


def make_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


# 1. errors.md ------------------------------------------------------------------------------
def test_every_error_class_has_a_section_and_slugs_are_unique():
    slugs = [cls.slug for cls in all_error_classes()]
    assert len(slugs) == len(set(slugs)), sorted(s for s in slugs if slugs.count(s) > 1)
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## `([^`]+)`\s*$", text, re.MULTILINE)
    assert len(headings) == len(set(headings)), "a slug has two sections"
    missing = sorted(set(slugs) - set(headings))
    assert not missing, f"docs/errors.md has no '## `slug`' section for {missing}"


def test_errors_doc_names_no_unknown_slug():
    known = {cls.slug for cls in all_error_classes()}
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    named = set(re.findall(r"^## `([^`]+)`", text, re.MULTILINE))
    named |= set(re.findall(r"https://nfvo\.dev/problems/([a-z0-9-]+)", text))
    assert named, "no slugs found: did the heading format change?"
    assert not sorted(named - known), f"docs/errors.md names slugs that do not exist: {sorted(named - known)}"


def test_error_sections_state_status_and_title():
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## `([^`]+)`\s*\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL))
    for cls in all_error_classes():
        body = sections[cls.slug]
        assert f"**Status:** {cls.status}" in body, cls.slug
        assert f"**Title:** {cls.title}" in body, cls.slug


# 2. configuration.md -----------------------------------------------------------------------
def test_every_setting_read_in_config_is_documented():
    source = (ROOT / "nfvo" / "config.py").read_text(encoding="utf-8")
    names = {node.value for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and re.fullmatch(r"NFVO_[A-Z0-9_]+", node.value)}
    assert "NFVO_HOME" in names and "NFVO_JOB_STALE_SECONDS" in names
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = sorted(n for n in names if not re.search(rf"`{n}`", text))
    assert not missing, f"docs/configuration.md does not mention {missing}"


# 3. packages.md ----------------------------------------------------------------------------
def package_files() -> dict[str, bytes]:
    files = {m["file"]: content.encode() for _, m, content in blocks("packages.md")
             if "file" in m and "expect" not in m}
    # images/iperf.raw is a 1 MiB binary image; its content does not matter to read_package.
    files["images/iperf.raw"] = b"\0" * 4096
    return files


def test_packages_doc_shows_the_iperf_server_example_as_it_is():
    files = package_files()
    assert set(files) == {"Metadata.yaml", "vnfd.json", "scripts/install.sh", "scripts/install-srv.sh",
                          "images/iperf.raw"}
    example = ROOT / "examples" / "iperf-server"
    for name, data in files.items():
        if not name.startswith("images/"):
            assert data == (example / name).read_bytes(), f"docs/packages.md shows another {name}"


def test_example_package_in_packages_doc_is_accepted(tmp_path):
    tar = make_tar(tmp_path / "iperf-server.tar", package_files())
    with PackageArchive.open(tar, display_name="iperf-server.tar") as archive:
        package = openbaton.read_package(archive)
    assert package.metadata.name == package.vnfd["name"] == "iperf-server"
    assert package.metadata.vendor == "FOKUS"  # given as the alias 'provider'
    [image] = package.metadata.images
    assert (image.upload, image.names, image.file) == ("check", ("iperf-image",), "images/iperf.raw")
    scripts = [name.split("/")[-1] for name in package.scripts]
    assert openbaton.missing_scripts(package, scripts) == []


def broken_examples() -> list[str]:
    return [m["example"] for _, m, _ in blocks("packages.md") if m.get("expect") == "error"]


def test_packages_doc_has_broken_examples():
    names = broken_examples()
    assert names and len(names) == len(set(names))
    problems = [m["problem"] for _, m, _ in blocks("packages.md") if "problem" in m]
    assert sorted(problems) == sorted(names), "each broken example needs exactly one problem block"


@pytest.mark.parametrize("name", broken_examples())
def test_broken_example_in_packages_doc_yields_the_errors_it_shows(tmp_path, name):
    [(replaced, content)] = [(m["file"], c) for _, m, c in blocks("packages.md")
                             if m.get("expect") == "error" and m.get("example") == name]
    [shown] = [json.loads(c) for _, m, c in blocks("packages.md") if m.get("problem") == name]
    files = {**package_files(), replaced: content.encode()}
    tar = make_tar(tmp_path / "broken.tar", files)
    with PackageArchive.open(tar, display_name="broken.tar") as archive:
        with pytest.raises(ValidationFailed) as info:
            openbaton.read_package(archive)
    problem = info.value.to_problem()
    fields = ("file", "line", "pointer", "severity", "message")
    assert [tuple(e.get(f) for f in fields) for e in problem["errors"]] == \
        [tuple(e.get(f) for f in fields) for e in shown["errors"]]
    shown.pop("instance", None)
    assert {k: v for k, v in problem.items() if k != "errors"} == {k: v for k, v in shown.items() if k != "errors"}


# 4. plugins.md -----------------------------------------------------------------------------
def plugin_files() -> dict[str, str]:
    return {m["file"]: content for _, m, content in blocks("plugins.md") if "file" in m}


def test_example_driver_in_plugins_doc_passes_the_conformance_kit(tmp_path):
    files = plugin_files()
    modules = [n for n in files if n.endswith(".py") and not n.startswith("test_")]
    tests = [n for n in files if n.startswith("test_") and n.endswith(".py")]
    assert len(modules) == 1 and len(tests) == 1, sorted(files)
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")

    # The module imports on its own and defines a VimDriver of this API version.
    from nfvo_plugin_sdk import API_VERSION, VimDriver

    spec = importlib.util.spec_from_file_location("docs_example_driver", tmp_path / modules[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, VimDriver) and v is not VimDriver]
    assert len(classes) == 1 and classes[0].api_version == API_VERSION

    # pyproject.toml registers that class in nfvo's entry-point group.
    project = tomllib.loads(files["pyproject.toml"])["project"]
    [(vim_type, target)] = project["entry-points"][drivers.GROUP].items()
    assert target == f"{modules[0][:-3]}:{classes[0].__name__}"
    assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", vim_type)

    # The test module from the doc runs the whole SDK conformance kit against it.
    from nfvo_plugin_sdk.conformance import DriverConformance

    kit = [n for n in dir(DriverConformance) if n.startswith("test_")]
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the repository's settings
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", tests[0]],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(rf"\b{len(kit)} passed\b", run.stdout), run.stdout
    assert not re.search(r"\b(failed|error|errors|skipped)\b", run.stdout.splitlines()[-1]), run.stdout


# --- etsi.md ----------------------------------------------------------------------------

def _etsi_block(marker: str, value: str) -> str:
    [text] = [t for _, m, t in blocks("etsi.md") if m.get(marker) == value]
    return text


def _validate(path: Path) -> tuple[int, str]:
    from click.testing import CliRunner

    from nfvo.cli import main

    result = CliRunner().invoke(main, ["package", "validate", str(path)])
    return result.exit_code, result.output


def test_etsi_doc_shows_the_summary_validate_prints_for_the_example_csar():
    text = _etsi_block("validate", "examples/csar-iperf")
    assert _validate(ROOT / "examples/csar-iperf") == (0, text)


def test_etsi_doc_shows_the_problems_validate_prints_for_its_broken_csar(tmp_path):
    from tests import csar_builder as cb

    text = _etsi_block("validate", "broken.csar")
    files = cb.example_files()
    files["Definitions/iperf_server.yaml"] = files["Definitions/iperf_server.yaml"].replace(b"size: 1 KiB",
                                                                                          b"size: 1 KB!")
    files = cb.with_manifest(files)
    files["Files/extra.txt"] = b"not in the manifest"
    assert _validate(cb.build(tmp_path / "broken.csar", files)) == (1, text)


def test_etsi_doc_manifest_is_the_example_csars():
    text = _etsi_block("manifest", "examples/csar-iperf/iperf-server.mf")
    manifest = (ROOT / "examples/csar-iperf/iperf-server.mf").read_text()
    metadata, _, entry = text.partition("\n\n")
    assert manifest.startswith(metadata + "\n\n")
    assert entry in manifest


# --- compatibility.md -------------------------------------------------------------------

def test_compatibility_doc_shows_what_validate_prints_for_a_warning_with_and_without_strict(tmp_path):
    from click.testing import CliRunner

    from nfvo.cli import main

    shown = {m["validate"]: t for _, m, t in blocks("compatibility.md") if "validate" in m}
    package = tmp_path / "iperf-server"
    shutil.copytree(ROOT / "examples/iperf-server", package)
    metadata = (package / "Metadata.yaml").read_text().splitlines(keepends=True)
    (package / "Metadata.yaml").write_text("".join([metadata[0], "shared: true\n", *metadata[1:]]))
    standard = CliRunner().invoke(main, ["package", "validate", str(package)])
    strict = CliRunner().invoke(main, ["package", "validate", "--strict", str(package)])
    assert (standard.exit_code, standard.output) == (0, shown["shared-key"])
    assert (strict.exit_code, strict.output) == (1, shown["shared-key-strict"])


# --- quickstart.md ----------------------------------------------------------------------

def test_quickstart_shows_the_security_schemes_of_the_openapi_document():
    from nfvo.api.security import SECURITY_SCHEMES

    [shown] = [json.loads(t) for _, m, t in blocks("quickstart.md") if m.get("openapi") == "securitySchemes"]
    assert shown == {name: {k: v for k, v in scheme.items() if k != "description"}
                     for name, scheme in SECURITY_SCHEMES.items()}
