"""TOSCA scalar units and the checksum algorithms of SOL001 ``ChecksumData``: pure value helpers."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

_HEX = re.compile(r"^[0-9A-Fa-f]+$")


# scalar units -----------------------------------------------------------------------
SIZE_UNITS = {"B": 1, "kB": 10**3, "KiB": 2**10, "MB": 10**6, "MiB": 2**20, "GB": 10**9, "GiB": 2**30,
              "TB": 10**12, "TiB": 2**40}
FREQUENCY_UNITS = {"Hz": 1, "kHz": 10**3, "MHz": 10**6, "GHz": 10**9}
TIME_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
BITRATE_UNITS = {"bps": 1, "Kbps": 10**3, "Kibps": 2**10, "Mbps": 10**6, "Mibps": 2**20, "Gbps": 10**9,
                 "Gibps": 2**30, "Tbps": 10**12, "Tibps": 2**40, "Bps": 8, "KBps": 8 * 10**3, "KiBps": 8 * 2**10,
                 "MBps": 8 * 10**6, "MiBps": 8 * 2**20, "GBps": 8 * 10**9, "GiBps": 8 * 2**30,
                 "TBps": 8 * 10**12, "TiBps": 8 * 2**40}
_SCALAR_KINDS = {"size": (SIZE_UNITS, False), "frequency": (FREQUENCY_UNITS, False), "time": (TIME_UNITS, False),
                 "bitrate": (BITRATE_UNITS, True)}
_SCALAR = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]+)\s*$")


def parse_scalar(value: Any, kind: str) -> float:
    """A TOSCA scalar-unit value (``"512 MiB"``, ``"2.4 GHz"``, ``"10 ms"``, ``"1 Gbps"``) in its base unit.

    ``kind`` is ``size`` (bytes), ``frequency`` (Hz), ``time`` (seconds) or ``bitrate`` (bits per
    second).  Units of size, frequency and time are matched in any case (``1 gb``), as the TOSCA
    Simple Profile allows; bitrate units are case-sensitive, since ``Bps`` (bytes) and ``bps``
    (bits) differ.  Raises ValueError with a message fit for a user.
    """
    units, case_sensitive = _SCALAR_KINDS[kind]
    match = _SCALAR.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a scalar-unit.{kind}: write a number and a unit, "
                         f"e.g. '1 {next(reversed(units)) if kind == 'size' else next(iter(units))}'")
    number, unit = float(match.group(1)), match.group(2)
    factor = units.get(unit)
    if factor is None and not case_sensitive:
        factor = next((f for u, f in units.items() if u.lower() == unit.lower()), None)
    if factor is None:
        raise ValueError(f"unknown scalar-unit.{kind} unit {unit!r} in {value!r} "
                         f"(known: {', '.join(units)})")
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number * factor


def size_in_bytes(value: Any) -> int:
    """A scalar-unit.size as a whole number of bytes (rounded up); ValueError as parse_scalar."""
    return math.ceil(parse_scalar(value, "size"))


# hash algorithms --------------------------------------------------------------------
HASH_ALGORITHMS = ("sha224", "sha256", "sha384", "sha512")


def digest_name(algorithm: Any) -> str | None:
    """The hashlib name of ``SHA-224/256/384/512`` written in any case, with or without the dash
    (``sha-256``, ``SHA256``), or None for anything else."""
    if not isinstance(algorithm, str):
        return None
    name = algorithm.strip().lower().replace("-", "").replace("_", "")
    return name if name in HASH_ALGORITHMS else None


def hash_problem(algorithm: str, value: Any) -> str | None:
    """Why ``value`` is not a hex digest of the hashlib ``algorithm`` (any case), or None."""
    size = hashlib.new(algorithm).digest_size * 2
    if not isinstance(value, str) or not _HEX.match(value):
        return f"hash must be hexadecimal, not {value!r}"
    if len(value) != size:
        return f"a {algorithm} hash has {size} hex digits, not {len(value)}"
    return None
