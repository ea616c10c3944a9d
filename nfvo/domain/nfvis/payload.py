"""The day-0 payload of a deployment, checked against a package's contract (every problem at once).

Secret values never appear in a finding: see :func:`nfvo.domain.nfvis.values.shown`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nfvo.domain import findings
from nfvo.domain.nfvis.model import HA_VMS, CustomProperty, ImageProperties, Profile
from nfvo.domain.nfvis.tokens import NIC_FIELDS, TokenUse, platform_token
from nfvo.domain.nfvis.values import UINT_MAX, ipv4, netmask_prefix, value_problem
from nfvo.errors import Issue, ValidationFailed

PAYLOAD_KEYS = ("profile", "properties", "nics", "vm")
NIC_KEYS = ("ip", "netmask", "gateway")
DEFAULT_VNIC_MAX = 8


@dataclass(frozen=True)
class Payload:
    """A payload that passed: the profile, a value for every active custom property (payload, else
    default, else empty), and per vNIC its ``ip``, ``prefix`` (int) and ``gateway`` when given."""

    profile: Profile | None
    values: dict[str, str] = field(repr=False)
    nics: tuple[dict, ...] = ()


def check_payload(properties: ImageProperties, payload: Any, controller: str,
                  needed: Sequence[TokenUse] = ()) -> Payload:
    """The checked payload; raises ValidationFailed with every problem, each with its JSON pointer.

    Problems: not an object or an unknown key; a ``profile`` that does not exist (or none
    while the package has profiles but no default_profile); ``properties`` not an object,
    an unknown property, one the platform or system_generated_properties.xml fills, a value
    that is not a string (a uint may be a JSON integer), that does not fit its type or
    choices, or is more than one line; a mandatory property (of the deployment's
    ``controller``) without a value or default; ``nics`` not a list, more vNICs than
    ``vnic_max``, a nic not an object or with an unknown key, a bad address, netmask
    (dotted, or a prefix length 0..32) or gateway, a gateway outside the nic's subnet; a
    nic field a platform token in ``needed`` requires but the payload lacks; a ``vm`` not 0, 1 or 2.
    """
    issues: list[Issue] = []
    if not isinstance(payload, dict):
        raise ValidationFailed("the day-0 payload must be a JSON object", errors=[Issue("must be an object",
                                                                                      pointer="")])
    for key in payload:
        if key not in PAYLOAD_KEYS:
            issues.append(Issue(f"unknown key (known: {', '.join(PAYLOAD_KEYS)})", pointer=f"/{_escape(key)}"))
    vm = payload.get("vm", 0)
    if type(vm) is not int or vm not in HA_VMS:
        issues.append(Issue("vm must be 0, 1 or 2 (the VM of an HA pair)", pointer="/vm"))
    profile = _profile(properties, payload.get("profile"), issues)
    values = _values(properties, payload.get("properties", {}), controller, issues)
    nics = _nics(properties, payload.get("nics", []), issues)
    _needed_nics(nics, payload.get("nics", []), needed, issues)
    if issues:
        count = len(issues)
        raise ValidationFailed(f"{count} problem{'s' if count != 1 else ''} in the day-0 payload",
                               errors=findings.ordered(issues))
    return Payload(profile, values, tuple(n or {} for n in nics))


def _escape(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _profile(properties: ImageProperties, name: Any, issues: list[Issue]) -> Profile | None:
    if name is None:
        if properties.default_profile:
            return properties.profile(properties.default_profile)
        if properties.profiles:
            issues.append(Issue(f"a profile is required: the package has no default_profile (profiles: "
                                f"{', '.join(p.name for p in properties.profiles)})", pointer="/profile"))
        return None
    if not isinstance(name, str):
        issues.append(Issue("profile must be a string, the name of a profile", pointer="/profile"))
        return None
    profile = properties.profile(name)
    if profile is None:
        known = ", ".join(p.name for p in properties.profiles) or "none"
        issues.append(Issue(f"no profile {name[:60]!r} in the package (profiles: {known})", pointer="/profile"))
    return profile


def _values(properties: ImageProperties, given: Any, controller: str, issues: list[Issue]) -> dict[str, str]:
    if not isinstance(given, dict):
        issues.append(Issue("properties must be an object of NAME: value", pointer="/properties"))
        given = {}
    values: dict[str, str] = {}
    for name, value in given.items():
        pointer = f"/properties/{_escape(name)}"
        prop = properties.custom_property(name) if isinstance(name, str) else None
        if prop is None:
            issues.append(Issue(_not_a_property(properties, name), pointer=pointer))
            continue
        text = _as_text(prop, value)
        if text is None:
            issues.append(Issue("must be a string" + (" or an unsigned integer" if prop.type == "uint" else "")
                                + f" (got {type(value).__name__})", pointer=pointer))
            continue
        problem = value_problem(prop, text) or ("is mandatory: it must not be empty"
                                                if prop.mandatory and text == "" else None)
        if problem:
            issues.append(Issue(f"{prop.name} {problem}", pointer=pointer))
            continue
        values[name] = text
    for prop in properties.custom_properties:
        if prop.controller not in (None, controller) or prop.name in values:
            continue
        if prop.name in given:  # refused above
            continue
        if prop.default is not None:
            values[prop.name] = prop.default
        elif prop.mandatory:
            issues.append(Issue(_missing(prop), pointer=f"/properties/{_escape(prop.name)}"))
        else:
            values[prop.name] = ""
    return values


def _not_a_property(properties: ImageProperties, name: Any) -> str:
    if isinstance(name, str) and platform_token(name):
        index, token_field = platform_token(name)
        return f"{name} is filled by the platform from /nics/{index}/{NIC_FIELDS[token_field]}"
    if isinstance(name, str) and properties.system_property(name):
        return f"{name} is fixed by the package's system_generated_properties.xml"
    known = ", ".join(p.name for p in properties.custom_properties) or "none"
    return f"not a custom_property of the package (properties: {known})"


def _missing(prop: CustomProperty) -> str:
    label = f" ({prop.display})" if prop.display else ""
    return f"{prop.name}{label} is mandatory and has no default: give a value"


def _as_text(prop: CustomProperty, value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if prop.type == "uint" and type(value) is int and 0 <= value <= UINT_MAX:
        return str(value)
    return None


def _nics(properties: ImageProperties, given: Any, issues: list[Issue]) -> list[dict | None]:
    if not isinstance(given, list):
        issues.append(Issue("nics must be a list of {ip, netmask, gateway}", pointer="/nics"))
        return []
    vnic_max = properties.vnic_max or DEFAULT_VNIC_MAX
    if len(given) > vnic_max:
        issues.append(Issue(f"the package allows at most {vnic_max} vNICs (vnic_max), got {len(given)}",
                            pointer=f"/nics/{vnic_max}"))
    return [_nic(index, nic, issues) for index, nic in enumerate(given)]


def _nic(index: int, nic: Any, issues: list[Issue]) -> dict | None:
    pointer = f"/nics/{index}"
    if not isinstance(nic, dict):
        issues.append(Issue("must be an object {ip, netmask, gateway}", pointer=pointer))
        return None
    for key in nic:
        if key not in NIC_KEYS:
            issues.append(Issue(f"unknown key (known: {', '.join(NIC_KEYS)})", pointer=f"{pointer}/{_escape(key)}"))
    checked: dict = {}
    for key in ("ip", "gateway"):
        if key in nic:
            address = ipv4(nic[key]) if isinstance(nic[key], str) else None
            if address is None:
                issues.append(Issue(f"must be an IPv4 address such as 192.0.2.10 (got {str(nic[key])[:40]!r})",
                                    pointer=f"{pointer}/{key}"))
            else:
                checked[key] = str(address)
    if "netmask" in nic:
        prefix = _prefix(nic["netmask"])
        if prefix is None:
            issues.append(Issue(f"must be a netmask such as 255.255.255.0 or a prefix length 0..32 (got "
                                f"{str(nic['netmask'])[:40]!r})", pointer=f"{pointer}/netmask"))
        else:
            checked["prefix"] = prefix
    if {"ip", "prefix", "gateway"} <= checked.keys():
        network = ipaddress.IPv4Network(f"{checked['ip']}/{checked['prefix']}", strict=False)
        if ipaddress.IPv4Address(checked["gateway"]) not in network:
            issues.append(Issue(f"gateway {checked['gateway']} is outside the nic's subnet {network}",
                                pointer=f"{pointer}/gateway"))
    return checked


def _prefix(value: Any) -> int | None:
    if type(value) is int:
        return value if 0 <= value <= 32 else None
    if not isinstance(value, str):
        return None
    if value.lstrip("/").isascii() and value.lstrip("/").isdigit():
        number = int(value.lstrip("/"))
        return number if number <= 32 else None
    return netmask_prefix(value)


def _needed_nics(nics: list[dict | None], given: Any, needed: Sequence[TokenUse], issues: list[Issue]) -> None:
    """A nic field that a platform token of a parsed file needs must be in the payload."""
    reported: set[str] = set()
    for use in needed:
        token = platform_token(use.name)
        if token is None:
            continue
        index, token_field = token
        key = NIC_FIELDS[token_field]
        pointer = f"/nics/{index}/{key}"
        present = index < len(nics) and nics[index] is not None and isinstance(given, list) \
            and isinstance(given[index], dict) and key in given[index]
        if present or pointer in reported:
            continue
        reported.add(pointer)
        issues.append(Issue(f"required: {use.written} is used by {use.file} line {use.line}", pointer=pointer))
