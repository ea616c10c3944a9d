"""Time nfvo's CSAR validation (every hash checked) against tosca-parser's ``CSAR(path).validate()``.

For each size given to ``--image-mib`` (default: 256 and 1), builds ``--count`` CSARs,
each with a random image of that many MiB (stored, as images are already compressed) and
a VNFD split over several files the way SOL001 packages are (a top file, a types file, two
deployment-flavour files, local copies of the SOL001 type files so that tosca-parser needs
no network).  Each package is validated once by each tool as a warm-up, then ``--repeat``
times by each tool in turn (so that a busy machine slows both alike); the median is
reported.

    .venv/bin/python benchmarks/validate_csar.py [--count 3] [--image-mib 256 1] [--repeat 7]

Needs tosca-parser (``pip install -e '.[bench]'``; ``make bench`` does it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nfvo.domain.csar import read_csar  # noqa: E402
from nfvo.domain.csar_zip import CsarArchive  # noqa: E402

SOL001 = ("etsi_nfv_sol001_common_types.yaml", "etsi_nfv_sol001_vnfd_types.yaml")
HEADER = "tosca_definitions_version: tosca_simple_yaml_1_2\n\nimports:\n" + "".join(f"  - {f}\n" for f in SOL001)

TYPES = HEADER + """
node_types:
  bench.VNF:
    derived_from: tosca.nodes.nfv.VNF
    properties:
      descriptor_id: {type: string, constraints: [valid_values: [bench-N]], default: bench-N}
      descriptor_version: {type: string, default: '1.0'}
      provider: {type: string, default: nfvo}
      product_name: {type: string, default: bench-N}
      software_version: {type: string, default: '1.0'}
      vnfm_info: {type: list, entry_schema: {type: string}, default: [nfvo]}
      flavour_id: {type: string, constraints: [valid_values: [small, large]], default: small}
      flavour_description: {type: string, default: a flavour}
"""

TOP = HEADER + """  - types.yaml
  - df_small.yaml
  - df_large.yaml

topology_template:
  inputs:
    selected_flavour:
      type: string
  node_templates:
    VNF:
      type: bench.VNF
      properties:
        flavour_id: { get_input: selected_flavour }
"""

FLAVOUR = HEADER + """  - types.yaml

topology_template:
  substitution_mappings:
    node_type: bench.VNF
    properties:
      flavour_id: FLAVOUR
  node_templates:
    VNF:
      type: bench.VNF
      properties:
        flavour_description: the FLAVOUR flavour
""" + "".join("""
    VDU{i}:
      type: tosca.nodes.nfv.Vdu.Compute
      properties:
        name: VDU{i}
        description: a VDU
        vdu_profile:
          min_number_of_instances: 1
          max_number_of_instances: 3
        sw_image_data:
          name: bench-image
          version: '1.0'
          checksum:
            algorithm: sha-256
            hash: IMAGE_HASH
          container_format: bare
          disk_format: qcow2
          min_disk: 1 GiB
          min_ram: 512 MiB
          size: SIZE MiB
      capabilities:
        virtual_compute:
          properties:
            virtual_memory:
              virtual_mem_size: 512 MiB
            virtual_cpu:
              num_virtual_cpu: 1
      artifacts:
        sw_image:
          type: tosca.artifacts.nfv.SwImage
          file: ../Files/images/bench.qcow2

    CP{i}:
      type: tosca.nodes.nfv.VduCp
      properties:
        layer_protocols: [ ipv4 ]
        order: 0
      requirements:
        - virtual_binding: VDU{i}
""".replace("{i}", str(i)) for i in range(1, 4))


def build(path: Path, number: int, image: Path, image_hash: str, size_mib: int) -> Path:
    """One benchmark CSAR at ``path``; the image file is shared by all packages."""
    texts = {
        "Definitions/top.yaml": TOP,
        "Definitions/types.yaml": TYPES.replace("bench-N", f"bench-{number}"),
        "Definitions/df_small.yaml": FLAVOUR.replace("FLAVOUR", "small"),
        "Definitions/df_large.yaml": FLAVOUR.replace("FLAVOUR", "large"),
        "Files/ChangeLog.txt": "1.0: first release\n",
    }
    for name in SOL001:
        texts[f"Definitions/{name}"] = resources.files("nfvo.domain").joinpath("definitions", name).read_text()
    texts = {k: v.replace("IMAGE_HASH", image_hash).replace("SIZE", str(size_mib)) for k, v in texts.items()}
    texts["TOSCA-Metadata/TOSCA.meta"] = ("TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: bench\n"
                                          "Entry-Definitions: Definitions/top.yaml\nETSI-Entry-Manifest: bench.mf\n"
                                          "ETSI-Entry-Change-Log: Files/ChangeLog.txt\n")
    manifest = ["metadata:", "vnf_provider_id: nfvo", f"vnf_product_name: bench-{number}",
                "vnf_release_date_time: 2024-05-01T00:00:00Z", "vnf_package_version: 1.0"]
    for name, text in sorted(texts.items()):
        if name != "TOSCA-Metadata/TOSCA.meta":
            manifest += ["", f"Source: {name}", "Algorithm: SHA-256", f"Hash: {hashlib.sha256(text.encode()).hexdigest()}"]
    manifest += ["", "Source: Files/images/bench.qcow2", "Algorithm: SHA-256", f"Hash: {image_hash}"]
    texts["bench.mf"] = "\n".join(manifest) + "\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in texts.items():
            zf.writestr(name, text)
        zf.write(image, "Files/images/bench.qcow2", compress_type=zipfile.ZIP_STORED)
    return path


def ours(path: Path) -> None:
    with CsarArchive.open(path, display_name=path.name) as archive:
        package = read_csar(archive)
    assert package.hashes_verified and len(package.vnfd.vdus) == 6


def tosca_parser(path: Path) -> None:
    from toscaparser.prereq.csar import CSAR

    csar = CSAR(str(path))
    try:
        assert csar.validate()
    finally:
        if csar.temp_dir and os.path.isdir(csar.temp_dir):
            shutil.rmtree(csar.temp_dir)  # tosca-parser leaves its extracted copy behind


def timed(path: Path, repeat: int) -> tuple[float, float]:
    """Median seconds of ``ours`` and ``tosca_parser`` on ``path``, their runs interleaved."""
    ours(path)  # warm-up: page cache, imports, caches
    tosca_parser(path)
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for function, spent in zip((ours, tosca_parser), times, strict=True):
            start = time.perf_counter()
            function(path)
            spent.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def run(work: Path, count: int, image_mib: int, repeat: int) -> None:
    """Build ``count`` packages with an image of ``image_mib`` MiB in ``work`` and print one table."""
    image = work / "image.bin"
    digest = hashlib.sha256()
    with open(image, "wb") as out:
        for _ in range(image_mib):
            chunk = os.urandom(1 << 20)
            digest.update(chunk)
            out.write(chunk)
    packages = [build(work / f"bench-{image_mib}-{n}.csar", n, image, digest.hexdigest(), image_mib)
                for n in range(count)]
    image.unlink()
    print(f"\n{count} CSARs, each a {image_mib} MiB image and 7 VNFD files; median of {repeat}")
    print(f"{'package':<20}{'nfvo (hashes)':>15}{'tosca-parser':>15}{'ratio':>8}")
    totals = [0.0, 0.0]
    for path in packages:
        a, b = timed(path, repeat)
        totals[0] += a
        totals[1] += b
        print(f"{path.name:<20}{a:>14.4f}s{b:>14.4f}s{b / a:>7.1f}x")
        path.unlink()
    print(f"{'all':<20}{totals[0]:>14.4f}s{totals[1]:>14.4f}s{totals[1] / totals[0]:>7.1f}x  (target >= 5x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=3, help="packages to build per image size")
    parser.add_argument("--image-mib", type=int, nargs="+", default=[256, 1], help="image sizes in MiB")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    try:
        import toscaparser  # noqa: F401
    except ImportError:
        print("tosca-parser is not installed: pip install -e '.[bench]' (make bench does it)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="nfvo-bench-") as tmp:
        for image_mib in args.image_mib:
            run(Path(tmp), args.count, image_mib, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
