"""Cisco NFVIS VM packages: a flat tar.gz of disk images, ``image_properties.xml``, bootstrap files and ``package.mf``.

Modules, each pure (text and bytes in, findings and models out):

* :mod:`~nfvo.domain.nfvis.manifest` -- ``package.mf``: expected digests, listing, digest comparison;
* :mod:`~nfvo.domain.nfvis.properties` -- ``image_properties.xml`` and ``system_generated_properties.xml``
  into the frozen :class:`~nfvo.domain.nfvis.model.ImageProperties`;
* :mod:`~nfvo.domain.nfvis.day0` -- the day-0 token contract (onboarding) and :func:`render` (deployment);
* :mod:`~nfvo.domain.nfvis.iso` -- the rendered files as a config-drive or NoCloud ISO image;
* :mod:`~nfvo.domain.nfvis.package` -- all of it over an opened :class:`~nfvo.domain.archive.PackageArchive`.

Every reader reports every problem at once as :class:`nfvo.errors.Issue` (ERROR or
WARNING) with the file, line and element path; XML is read with defusedxml.
"""

from nfvo.domain.nfvis.day0 import check_day0, render
from nfvo.domain.nfvis.iso import drive_files, write_iso
from nfvo.domain.nfvis.manifest import MANIFEST, PackageManifest, check_digests, check_listing, parse_manifest
from nfvo.domain.nfvis.model import ImageProperties
from nfvo.domain.nfvis.package import NfvisPackage, nfvis_kind, read_package
from nfvo.domain.nfvis.properties import IMAGE_PROPERTIES, SYSTEM_PROPERTIES, parse_properties
from nfvo.domain.nfvis.tokens import PLATFORM_TOKENS

__all__ = ["IMAGE_PROPERTIES", "MANIFEST", "PLATFORM_TOKENS", "SYSTEM_PROPERTIES", "ImageProperties",
           "NfvisPackage", "PackageManifest", "check_day0", "check_digests", "check_listing", "drive_files",
           "nfvis_kind", "parse_manifest", "parse_properties", "read_package", "render", "write_iso"]
