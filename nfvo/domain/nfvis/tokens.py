"""Day-0 tokens: ``${NAME}`` in bootstrap files, the ones the platform fills, and substitution.

A token is ``${`` + a name (letters, digits, underscore, not starting with a digit) + ``}``.
``${...}`` with anything else inside is not a token and stays as written.  The platform
fills ``NICID_<n>_*`` from the deployment's vNIC ``n`` (0 is the management vNIC); a
deployment never supplies them as properties.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from nfvo.domain.nfvis.model import TOKEN_NAME

#: The tokens the platform fills, for vNIC ``<n>`` (0, 1, ... below ``vnic_max``).
PLATFORM_TOKENS: tuple[tuple[str, str], ...] = (
    ("NICID_<n>_IP_ADDRESS", "the IPv4 address of vNIC n"),
    ("NICID_<n>_NETMASK", "its netmask, dotted (255.255.255.0)"),
    ("NICID_<n>_CIDR_PREFIX", "its prefix length (24)"),
    ("NICID_<n>_GATEWAY", "its gateway address"),
)
#: the nic field each platform token is filled from
NIC_FIELDS = {"IP_ADDRESS": "ip", "NETMASK": "netmask", "CIDR_PREFIX": "netmask", "GATEWAY": "gateway"}
_PLATFORM = re.compile(r"^NICID_(0|[1-9][0-9]{0,2})_(IP_ADDRESS|NETMASK|CIDR_PREFIX|GATEWAY)$")
_TOKEN = re.compile(r"\$\{([^{}\n]*)\}")


@dataclass(frozen=True)
class TokenUse:
    """One ``${...}`` in a file; ``column`` is 1-based; ``valid`` when the inside is a token name."""

    name: str
    file: str
    line: int
    column: int

    @property
    def valid(self) -> bool:
        return bool(TOKEN_NAME.match(self.name))

    @property
    def written(self) -> str:
        return "${" + self.name + "}"


def scan(text: str, file: str) -> list[TokenUse]:
    """Every ``${...}`` of ``text``, in order."""
    uses = []
    for number, line in enumerate(text.split("\n"), 1):
        if "${" not in line:
            continue
        for match in _TOKEN.finditer(line):
            uses.append(TokenUse(match.group(1), file, number, match.start() + 1))
    return uses


def platform_token(name: str) -> tuple[int, str] | None:
    """(vNIC number, nic field) of a platform token (``NICID_1_GATEWAY`` -> (1, "gateway")), else None."""
    match = _PLATFORM.match(name)
    return (int(match.group(1)), match.group(2)) if match else None


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each token named in ``values`` replaced, in one pass (a value is never expanded again)."""
    return _TOKEN.sub(lambda m: values.get(m.group(1), m.group(0)), text)
