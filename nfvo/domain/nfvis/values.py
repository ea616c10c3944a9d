"""Whether a value fits a custom property's type, and IPv4 addresses, netmasks and gateways of vNICs.

Messages never quote a secret value (see :func:`nfvo.domain.nfvis.model.is_secret`).
"""

from __future__ import annotations

import ipaddress
import re

from nfvo.domain.nfvis.model import CustomProperty

MAX_VALUE_LENGTH = 4096
UINT_MAX = 2**32 - 1
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def shown(value: str, secret: bool) -> str:
    """``value`` quoted for a message, or a placeholder when it is a secret."""
    if secret:
        return "(a secret, not shown)"
    return repr(value if len(value) <= 60 else value[:57] + "...")


def value_problem(prop: CustomProperty, value: str) -> str | None:
    """Why ``value`` does not fit ``prop`` (its type, its choices, one line of text), or None."""
    if len(value) > MAX_VALUE_LENGTH:
        return f"must be at most {MAX_VALUE_LENGTH} characters (got {len(value)})"
    if _CONTROL.search(value):
        # A line break would add lines of its own to a configuration file.
        return "must be one line of text, without line breaks or control characters"
    got = shown(value, prop.secret)
    if prop.type == "uint":
        if not (value.isascii() and value.isdigit()) or int(value) > UINT_MAX:
            return f"must be an unsigned integer 0..{UINT_MAX} (got {got})"
    elif prop.type == "ipv4":
        if ipv4(value) is None:
            return f"must be an IPv4 address such as 192.0.2.10 (got {got})"
    elif prop.type == "selection":
        if value not in prop.values:
            return f"must be one of {', '.join(prop.values)} (got {got})"
    return None


def ipv4(text: str) -> ipaddress.IPv4Address | None:
    """The dotted-quad address ``text`` (no leading zeros, no prefix), or None."""
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None


def netmask_prefix(text: str) -> int | None:
    """The prefix length of a dotted netmask (``255.255.255.0`` -> 24), or None when it is not one."""
    address = ipv4(text)
    if address is None:
        return None
    bits = int(address)
    inverted = ~bits & UINT_MAX
    if inverted & (inverted + 1):  # the ones must be contiguous from the left
        return None
    return 32 - inverted.bit_length()


def prefix_netmask(prefix: int) -> str:
    return str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask)
