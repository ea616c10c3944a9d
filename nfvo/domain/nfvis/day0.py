"""Day-0 token contracts of an NFVIS package: checked at onboarding, rendered at deployment.

At onboarding, :func:`check_day0` reads every bootstrap file marked ``parse="true"``: each
``${NAME}`` must be a custom_property, a system_property, or a token the platform fills
(:data:`~nfvo.domain.nfvis.tokens.PLATFORM_TOKENS`, for a vNIC below ``vnic_max``).

At deployment, :func:`render` checks a payload against the contract and returns the
profile and the rendered files; :func:`nfvo.domain.nfvis.iso.write_iso` turns those
files into the day-0 drive.  Secret values (passwords, and properties named like one)
never appear in a finding, an exception or a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nfvo.domain import findings
from nfvo.domain.nfvis.model import CONTROLLERS, BootstrapFile, CustomProperty, ImageProperties
from nfvo.domain.nfvis.payload import Payload, check_payload
from nfvo.domain.nfvis.tokens import PLATFORM_TOKENS, TokenUse, platform_token, scan, substitute
from nfvo.domain.nfvis.values import prefix_netmask, value_problem
from nfvo.errors import WARNING, Issue, ValidationFailed

DEFAULT_CONTROLLER = "non-vManage"
_PLATFORM_LIST = ", ".join(name for name, _ in PLATFORM_TOKENS)


def check_day0(properties: ImageProperties, bootstrap_texts: Mapping[str, str], *,
               report_missing: bool = True) -> list[Issue]:
    """Every finding about the day-0 contract of ``properties``; ``bootstrap_texts`` maps each
    bootstrap file's member name to its text.

    ERROR: a declared bootstrap file that ``bootstrap_texts`` lacks (unless not
    ``report_missing``: the caller reported it); in a ``parse="true"`` file,
    a token that is neither declared nor filled by the platform, or a platform token of a
    vNIC at or above ``vnic_max`` (each at file:line, the column in the message); a default
    that does not fit its property (a selection default outside the values, a uint default
    that is not one, an ipv4 default that is not an address, any multi-line default).
    WARNING: a ``${...}`` whose inside is not a token name (left as written); a declared
    custom property that no parsed file uses (judged only when every parsed file is given); a file not marked ``parse="true"`` that uses
    declared tokens (they are not substituted).
    """
    issues: list[Issue] = []
    parsed, plain = _sources(properties)
    for declared in properties.bootstrap_files if report_missing else ():
        if declared.source not in bootstrap_texts:
            issues.append(Issue(f"bootstrap file '{declared.source}' is not in the package", properties.file,
                                declared.line, declared.pointer))
    used: set[str] = set()
    for source in parsed:
        if source in bootstrap_texts:
            issues.extend(_check_uses(properties, scan(bootstrap_texts[source], source), used))
    declared_names = {p.name for p in properties.custom_properties} | {p.name for p in properties.system_properties}
    for source in plain:
        if source in bootstrap_texts:
            tokens = [u for u in scan(bootstrap_texts[source], source) if u.name in declared_names]
            if tokens:
                names = ", ".join(dict.fromkeys(u.written for u in tokens))
                issues.append(Issue(f"uses {names} but is not marked parse=\"true\" in {properties.file}: its "
                                    "tokens are not substituted", source, tokens[0].line, severity=WARNING))
    complete = all(source in bootstrap_texts for source in parsed)  # else "unused" cannot be judged
    for prop in properties.custom_properties:
        if complete and prop.name not in used:
            issues.append(Issue(f"custom_property '{prop.name}' is not used by any bootstrap file marked "
                                "parse=\"true\"", properties.file, prop.line, prop.pointer, WARNING))
        if prop.default is not None:
            problem = value_problem(prop, prop.default)
            if problem:
                issues.append(Issue(f"the default of '{prop.name}' {problem}", properties.file,
                                    prop.default_line or prop.line, prop.default_pointer or prop.pointer))
    return issues


def _sources(properties: ImageProperties) -> tuple[list[str], list[str]]:
    parsed = list(dict.fromkeys(f.source for f in properties.bootstrap_files if f.parse))
    plain = [s for s in dict.fromkeys(f.source for f in properties.bootstrap_files) if s not in parsed]
    return parsed, plain


def _check_uses(properties: ImageProperties, uses: list[TokenUse], used: set[str]) -> list[Issue]:
    issues = []
    vnic_max = properties.vnic_max or 8
    for use in uses:
        where = f"{use.written} (column {use.column})"
        if not use.valid:
            issues.append(Issue(f"{where} is not a token (a name of letters, digits and _): left as written",
                                use.file, use.line, severity=WARNING))
            continue
        nic = platform_token(use.name)
        if nic is not None:
            if nic[0] >= vnic_max:
                issues.append(Issue(f"{where} names vNIC {nic[0]}, but the package allows vnic_max {vnic_max} "
                                    f"(vNICs 0..{vnic_max - 1})", use.file, use.line))
            continue
        if properties.custom_property(use.name) or properties.system_property(use.name):
            used.add(use.name)
            continue
        issues.append(Issue(f"{where} is neither a custom_property of {properties.file} nor a token the platform "
                            f"fills ({_PLATFORM_LIST}, n a vNIC number)", use.file, use.line))
    return issues


# deployment --------------------------------------------------------------------------------
def render(properties: ImageProperties, bootstrap_files: Mapping[str, str], payload: Any) -> dict:
    """The day-0 answer for a deployment of the package: ``{"profile": {...} | None, "files": [...]}``.

    ``bootstrap_files`` maps member names to their text.  ``payload`` is
    ``{"profile": NAME?, "properties": {NAME: value}?, "nics": [{"ip", "netmask", "gateway"}]?, "vm": 0|1|2?}``:
    the profile defaults to ``default_profile``; ``vm`` (default 0) picks the files of one VM of
    an HA pair.  Each file of the answer is ``{"mountPoint", "name", "content"}`` in declaration
    order: the files for the deployment's controller (the value of a ``controller`` selection
    property, else non-vManage) and VM, tokens substituted in those marked ``parse="true"``.

    Raises ValidationFailed listing every problem (pointers such as ``/properties/HOSTNAME``,
    ``/nics/0/gateway``): see :func:`nfvo.domain.nfvis.payload.check_payload`; also when the
    package's own contract has errors (:func:`check_day0`).
    """
    broken = [i for i in check_day0(properties, bootstrap_files) if not i.is_warning]
    if broken:
        raise ValidationFailed(f"the day-0 declarations of package {properties.name or properties.file} have "
                               f"{len(broken)} problem{'s' if len(broken) != 1 else ''}",
                               errors=findings.ordered(broken))
    controller = deployment_controller(properties, payload)
    active = [f for f in properties.bootstrap_files if _applies(f, controller, payload)]
    needed = [u for f in dict.fromkeys(f.source for f in active if f.parse)
              for u in scan(bootstrap_files[f], f)]
    checked: Payload = check_payload(properties, payload, controller, needed)
    values = dict(checked.values)
    values.update({p.name: p.value for p in properties.system_properties})
    for index, nic in enumerate(checked.nics):
        prefix = nic.get("prefix")
        values.update({f"NICID_{index}_IP_ADDRESS": nic.get("ip", ""),
                       f"NICID_{index}_NETMASK": prefix_netmask(prefix) if prefix is not None else "",
                       f"NICID_{index}_CIDR_PREFIX": str(prefix) if prefix is not None else "",
                       f"NICID_{index}_GATEWAY": nic.get("gateway", "")})
    files = [{"mountPoint": f.mount_point, "name": f.source,
              "content": substitute(bootstrap_files[f.source], values) if f.parse else bootstrap_files[f.source]}
             for f in active]
    return {"profile": checked.profile.to_dict() if checked.profile else None, "files": files}


def controller_property(properties: ImageProperties) -> CustomProperty | None:
    """The selection property that chooses between vManage and non-vManage, if the package has one."""
    return next((p for p in properties.custom_properties
                 if p.name.lower() == "controller" and p.type == "selection"), None)


def deployment_controller(properties: ImageProperties, payload: Any) -> str:
    """vManage or non-vManage: the payload's value of the controller property, else its default, else non-vManage."""
    prop = controller_property(properties)
    if prop is None:
        return DEFAULT_CONTROLLER
    given = payload.get("properties") if isinstance(payload, dict) else None
    value = given.get(prop.name) if isinstance(given, dict) else None
    value = value if isinstance(value, str) else prop.default
    return next((c for c in CONTROLLERS if value and c.lower() == value.lower()), DEFAULT_CONTROLLER)


def _applies(declared: BootstrapFile, controller: str, payload: Any) -> bool:
    vm = payload.get("vm", 0) if isinstance(payload, dict) else 0
    return ((declared.controller is None or declared.controller == controller)
            and (declared.vm is None or declared.vm == vm))
