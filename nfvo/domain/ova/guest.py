"""The guest an OperatingSystemSection describes: distribution, version and CPU architecture, derived by fixed rules.

Names are the Glance/libosinfo ones (``os_distro``: ubuntu, rhel, centos, debian, sles, opensuse,
fedora, rocky, almalinux, ol, freebsd, windows, and PowerVC's aix and ibmi; ``architecture``:
x86_64, i686, ppc64, ppc64le, aarch64, s390x).  Each value is taken from the first source that
gives it:

Architecture
  1. an architecture word in the ``Description`` or ``vmw:osType``: ppc64le or ppc64el -> ppc64le,
     ppc64 -> ppc64, aarch64 or arm64 -> aarch64, s390x, x86_64/amd64/x86-64/x64 -> x86_64,
     i386 ... i686 -> i686;
  2. the distribution: aix and ibmi run only on Power -> ppc64;
  3. ``vmw:osType`` (VMware's guest ids, x86 unless they say arm): one starting ``arm`` -> aarch64,
     one holding ``64`` (``ubuntu64Guest``, ``rhel9_64Guest``) or an ESXi ``vmkernel`` -> x86_64,
     any other (``ubuntuGuest``, ``otherGuest``) -> i686;
  4. the CIM OSType number: the "64-Bit" ids of x86 systems (70, 71, 74, 77, 78, 80, 83, 85, 90, 92,
     94, 96, 98, 100, 101, 103, 104, 107, 109) -> x86_64, AIX (9) and OS/400 (11) -> ppc64;
     "Other 64-Bit" (102) and Solaris 64-Bit (81, SPARC or x86) say nothing;
  5. else None.

Distribution and version
  1. the ``Description`` ("Ubuntu 22.04 LTS" -> ubuntu / 22.04, "Red Hat Enterprise Linux 9.2" -> rhel / 9.2,
     "AIX 7.3" -> aix / 7.3): the version is the number right after the name (words such as
     Linux, GNU/Linux, Server, Enterprise between them are skipped);
  2. ``vmw:osType`` (``ubuntu64Guest`` -> ubuntu, ``rhel9_64Guest`` -> rhel / 9); the number in it is
     a version only for rhel, centos, debian, sles, ol and freebsd (VMware's ``windows9`` is Windows 10);
  3. the CIM OSType number (93/94 ubuntu, 79/80 rhel, 95/96 debian, 84/85 sles, 106/107 centos,
     108/109 ol, 42/78 freebsd, 9 aix, 11 ibmi, the Windows ids windows), without a version;
  4. else None.  A version from a later source is used only when it names the same distribution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nfvo.domain.ova.model import OsType

_ARCH_WORDS = (
    (re.compile(r"\bppc64(?:le|el)\b", re.I), "ppc64le"),
    (re.compile(r"\bppc64\b", re.I), "ppc64"),
    (re.compile(r"\b(?:aarch64|arm64)\b", re.I), "aarch64"),
    (re.compile(r"\bs390x\b", re.I), "s390x"),
    (re.compile(r"\b(?:x86[_-]64|amd64|x64)\b", re.I), "x86_64"),
    (re.compile(r"\bi[3-6]86\b", re.I), "i686"),
)
_POWER_ONLY = {"aix": "ppc64", "ibmi": "ppc64"}
_CIM_X86_64 = frozenset({70, 71, 74, 77, 78, 80, 83, 85, 90, 92, 94, 96, 98, 100, 101, 103, 104, 107, 109})
_CIM_PPC64 = frozenset({9, 11})
_CIM_WINDOWS = frozenset({58, 63, 67, 69, 70, 71, 72, 73, 74, 75, 76, 77, 103, 105})
_CIM_DISTRO = {93: "ubuntu", 94: "ubuntu", 79: "rhel", 80: "rhel", 95: "debian", 96: "debian", 84: "sles",
               85: "sles", 106: "centos", 107: "centos", 108: "ol", 109: "ol", 42: "freebsd", 78: "freebsd",
               9: "aix", 11: "ibmi"}
# Longer names first: "Red Hat Enterprise Linux" before anything shorter it contains.
_DESCRIPTION_DISTROS = (
    (re.compile(r"red\s*hat\s+enterprise\s+linux|\brhel(?=\d|\b)", re.I), "rhel"),
    (re.compile(r"suse\s+linux\s+enterprise(?:\s+server)?|\bsles(?=\d|\b)", re.I), "sles"),
    (re.compile(r"oracle\s+(?:enterprise\s+)?linux", re.I), "ol"),
    (re.compile(r"\bopensuse\b", re.I), "opensuse"),
    (re.compile(r"\bcentos(?=\d|\b)", re.I), "centos"),
    (re.compile(r"\bubuntu\b", re.I), "ubuntu"),
    (re.compile(r"\bdebian\b", re.I), "debian"),
    (re.compile(r"\bfedora\b", re.I), "fedora"),
    (re.compile(r"\brocky(?:\s+linux)?\b", re.I), "rocky"),
    (re.compile(r"\balma\s*linux\b", re.I), "almalinux"),
    (re.compile(r"\bfreebsd\b", re.I), "freebsd"),
    (re.compile(r"\bwindows\b", re.I), "windows"),
    (re.compile(r"\baix\b", re.I), "aix"),
    (re.compile(r"\bibm\s+i\b|\bos/?400\b", re.I), "ibmi"),
)
_VERSION_AFTER = re.compile(r"[\s,]*(?:(?:gnu/linux|linux|server|enterprise|release|version)\s*)*v?(\d+(?:\.\d+)*)\b",
                            re.I)
# VMware guest id prefix -> (distribution, whether the number after it is the version)
_VMWARE_DISTROS = (
    ("oraclelinux", "ol", True), ("rockylinux", "rocky", False), ("almalinux", "almalinux", False),
    ("opensuse", "opensuse", False), ("ubuntu", "ubuntu", False), ("debian", "debian", True),
    ("centos", "centos", True), ("fedora", "fedora", False), ("freebsd", "freebsd", True),
    ("rhel", "rhel", True), ("sles", "sles", True), ("windows", "windows", False), ("win", "windows", False),
)
_VMWARE_64 = re.compile(r"_?64$")


@dataclass(frozen=True)
class Guest:
    """The derived ``os_distro``, ``os_version`` and ``architecture`` (each None when not derivable)."""

    distro: str | None = None
    version: str | None = None
    architecture: str | None = None


def derive(os_type: OsType | None, *, os_version: str | None = None) -> Guest:
    """The guest of ``os_type`` by the rules of this module; ``os_version`` (the section's
    ``ovf:version``) is the version when no source gives one."""
    if os_type is None:
        return Guest(version=os_version)
    described = _from_description(os_type.description)
    vmware = _from_vmware(os_type.vmware)
    cim = (_cim_distro(os_type.cim_id), None)
    distro = described[0] or vmware[0] or cim[0]
    version = next((v for d, v in (described, vmware) if d == distro and v), None) or os_version
    return Guest(distro, version, _architecture(os_type, distro))


def _architecture(os_type: OsType, distro: str | None) -> str | None:
    for text in (os_type.description, os_type.vmware):
        for pattern, architecture in _ARCH_WORDS:
            if text and pattern.search(text):
                return architecture
    if distro in _POWER_ONLY:
        return _POWER_ONLY[distro]
    guest = os_type.vmware
    if guest:
        if guest.lower().startswith("arm"):
            return "aarch64"
        return "x86_64" if "64" in guest or guest.lower().startswith("vmkernel") else "i686"
    if os_type.cim_id in _CIM_X86_64:
        return "x86_64"
    if os_type.cim_id in _CIM_PPC64:
        return "ppc64"
    return None


def _from_description(description: str | None) -> tuple[str | None, str | None]:
    if not description:
        return None, None
    for pattern, distro in _DESCRIPTION_DISTROS:
        found = pattern.search(description)
        if found:
            version = _VERSION_AFTER.match(description, found.end())
            return distro, version.group(1) if version else None
    return None, None


def _from_vmware(guest: str | None) -> tuple[str | None, str | None]:
    if not guest:
        return None, None
    core = _VMWARE_64.sub("", guest.removesuffix("Guest"))
    lowered = core.lower()
    for prefix, distro, numbered in _VMWARE_DISTROS:
        if lowered.startswith(prefix):
            number = re.match(r"\d+", core[len(prefix):])
            return distro, number.group(0) if numbered and number else None
    return None, None


def _cim_distro(cim_id: int | None) -> str | None:
    if cim_id in _CIM_WINDOWS:
        return "windows"
    return _CIM_DISTRO.get(cim_id)
