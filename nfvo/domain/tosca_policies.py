"""Policies of a VNFD topology: their types, properties and targets; instantiation levels and aspects.

Within one topology template (the top-level VNFD or one flavour's), SOL001 ties policies
together by name: ``tosca.policies.nfv.InstantiationLevels`` defines the levels (and
``default_level`` must be one of them), ``VduInstantiationLevels`` and
``VirtualLinkInstantiationLevels`` give each level's size and must name only those levels
(and, as Tacker requires, need an InstantiationLevels policy), ``ScalingAspects`` defines
the aspects that levels' ``scale_info`` and the ``*ScalingAspectDeltas`` policies name.  Every
broken name is an error at its own file, line and pointer; a name that cannot be checked
because the policy it refers to is itself broken is a warning that says so.  An aspect's
``step_deltas`` that a deltas policy does not define is a warning: Tacker onboards such
packages and fails only when scaling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nfvo.domain.sources import SourceDoc, child_pointer
from nfvo.domain.tosca_types import TypeModel, chain, definitions, derives_from, hint, template_types
from nfvo.domain.tosca_values import check_properties

_POLICY_KEYS = ("type", "description", "metadata", "properties", "targets", "triggers")
INSTANTIATION_LEVELS = "tosca.policies.nfv.InstantiationLevels"
SCALING_ASPECTS = "tosca.policies.nfv.ScalingAspects"
_LEVEL_USERS = ("tosca.policies.nfv.VduInstantiationLevels", "tosca.policies.nfv.VirtualLinkInstantiationLevels")
_DELTA_USERS = ("tosca.policies.nfv.VduScalingAspectDeltas",
                "tosca.policies.nfv.VirtualLinkBitrateScalingAspectDeltas")


@dataclass
class _Policy:
    name: str
    type: str
    properties: dict
    pointer: str

    def prop_pointer(self, *keys: str) -> str:
        pointer = child_pointer(self.pointer, "properties")
        for key in keys:
            pointer = child_pointer(pointer, key)
        return pointer


def check_policies(model: TypeModel, doc: SourceDoc) -> None:
    """Check the ``policies`` of the topology template of ``doc``."""
    topology = doc.data.get("topology_template")
    policies = topology.get("policies") if isinstance(topology, dict) else None
    if policies is None:
        return
    pointer = "/topology_template/policies"
    if not isinstance(policies, list):
        model.issues.append(doc.issue(pointer, "policies must be a list of {name: policy definition}"))
        return
    nodes = topology.get("node_templates") if isinstance(topology.get("node_templates"), dict) else {}
    groups = topology.get("groups") if isinstance(topology.get("groups"), dict) else {}
    found = []
    for index, item in enumerate(policies):
        item_pointer = child_pointer(pointer, index)
        if not isinstance(item, dict) or len(item) != 1:
            model.issues.append(doc.issue(item_pointer, "a policy must be a mapping of its name to its definition"))
            continue
        name, body = next(iter(item.items()))
        policy = _check_policy(model, doc, child_pointer(item_pointer, name), str(name), body, nodes, groups)
        if policy is not None:
            found.append(policy)
    _check_names(model, doc, found)


def _check_policy(model: TypeModel, doc: SourceDoc, pointer: str, name: str, body: Any, nodes: dict,
                  groups: dict) -> _Policy | None:
    if not isinstance(body, dict):
        model.issues.append(doc.issue(pointer, "a policy definition must be a mapping"))
        return None
    typed = template_types(model, doc, pointer, body, "policy", "a policy", _POLICY_KEYS)
    if typed is None:
        return None
    kind, types = typed
    props = body.get("properties")
    if props is not None and not isinstance(props, dict):
        model.issues.append(doc.issue(child_pointer(pointer, "properties"), "properties must be a mapping"))
    check_properties(model, doc, child_pointer(pointer, "properties"), props, definitions(types, "properties"), kind)
    _check_targets(model, doc, child_pointer(pointer, "targets"), body.get("targets"), types, nodes, groups)
    return _Policy(name, kind, props if isinstance(props, dict) else {}, pointer)


def _check_targets(model: TypeModel, doc: SourceDoc, pointer: str, targets: Any, types: list, nodes: dict,
                   groups: dict) -> None:
    if targets is None:
        return
    if not isinstance(targets, list):
        model.issues.append(doc.issue(pointer, "targets must be a list of node template or group names"))
        return
    allowed = next((t.body["targets"] for t in types if isinstance(t.body.get("targets"), list)), None)
    for index, target in enumerate(targets):
        target_pointer = child_pointer(pointer, index)
        if target in nodes:
            kind, body = "node", nodes[target]
        elif target in groups:
            kind, body = "group", groups[target]
        else:
            model.issues.append(doc.issue(target_pointer, f"target {target!r} is neither a node template nor a "
                                                          f"group of this topology template"
                                                          f"{hint(target, [*nodes, *groups])}"))
            continue
        target_type = body.get("type") if isinstance(body, dict) else None
        if allowed and isinstance(target_type, str) and chain(model, kind, target_type) is not None \
                and not any(derives_from(model, kind, target_type, base) for base in allowed):
            model.issues.append(doc.issue(target_pointer, f"target {target!r} is a {target_type}; this policy "
                                                          f"applies to {' or '.join(allowed)}"))


def _mapping(policy: _Policy, key: str) -> dict | None:
    value = policy.properties.get(key)
    return value if isinstance(value, dict) else None


def _check_names(model: TypeModel, doc: SourceDoc, policies: list[_Policy]) -> None:
    def of_type(base: str | tuple[str, ...]) -> list[_Policy]:
        bases = (base,) if isinstance(base, str) else base
        return [p for p in policies if any(derives_from(model, "policy", p.type, b) for b in bases)]

    level_policies, aspect_policies = of_type(INSTANTIATION_LEVELS), of_type(SCALING_ASPECTS)
    levels: dict[str, Any] = {}
    broken_levels = [p for p in level_policies if _mapping(p, "levels") is None]
    for policy in level_policies:
        levels.update(_mapping(policy, "levels") or {})
    aspects: dict[str, Any] = {}
    broken_aspects = [p for p in aspect_policies if _mapping(p, "aspects") is None]
    for policy in aspect_policies:
        aspects.update(_mapping(policy, "aspects") or {})

    def aspect_problem(aspect: Any) -> tuple[str, str] | None:
        """(severity, message) when ``aspect`` is not a known aspect, else None."""
        if aspect in aspects:
            return None
        if broken_aspects:
            return "warning", (f"aspect {aspect!r} cannot be checked: the ScalingAspects policy "
                               f"'{broken_aspects[0].name}' has no valid aspects")
        if not aspect_policies:
            return "error", f"aspect {aspect!r} is not defined: this topology template has no {SCALING_ASPECTS} policy"
        return "error", f"aspect {aspect!r} is not defined by the ScalingAspects policy{hint(aspect, aspects)}"

    def report(pointer: str, problem: tuple[str, str] | None) -> None:
        if problem is not None:
            model.issues.append(doc.issue(pointer, problem[1], severity=problem[0]))

    for policy in level_policies:
        default = policy.properties.get("default_level")
        own = _mapping(policy, "levels")
        if isinstance(default, str) and own is None:
            report(policy.prop_pointer("default_level"),
                   ("warning", f"default_level {default!r} cannot be checked: this policy has no valid levels"))
        elif isinstance(default, str) and default not in own:
            report(policy.prop_pointer("default_level"),
                   ("error", f"default_level {default!r} is not one of the levels "
                             f"({', '.join(map(str, own)) or 'none'}){hint(default, own)}"))
        for level, body in (own or {}).items():
            scale_info = body.get("scale_info") if isinstance(body, dict) else None
            for aspect in scale_info if isinstance(scale_info, dict) else ():
                report(policy.prop_pointer("levels", level, "scale_info", aspect), aspect_problem(aspect))
    for policy in of_type(_LEVEL_USERS):
        for level in _mapping(policy, "levels") or {}:
            pointer = policy.prop_pointer("levels", level)
            if level in levels:
                continue
            if broken_levels:
                report(pointer, ("warning", f"level {level!r} cannot be checked: the InstantiationLevels policy "
                                            f"'{broken_levels[0].name}' has no valid levels"))
            elif not level_policies:
                report(pointer, ("error", f"level {level!r} is not defined: this topology template has no "
                                          f"{INSTANTIATION_LEVELS} policy"))
            else:
                report(pointer, ("error", f"level {level!r} is not defined by the InstantiationLevels policy "
                                          f"(levels: {', '.join(map(str, levels))}){hint(level, levels)}"))
    for policy in of_type(_DELTA_USERS):
        aspect = policy.properties.get("aspect")
        if not isinstance(aspect, str):
            continue
        problem = aspect_problem(aspect)
        if problem is not None and problem[0] == "error":
            # Only scaling reads deltas: Tacker onboards deltas of an aspect nobody defines, and they
            # change nothing until such an aspect exists; an instantiation level naming it is refused.
            problem = ("warning", f"{problem[1]}: these deltas are never used")
        report(policy.prop_pointer("aspect"), problem)
        deltas = _mapping(policy, "deltas")
        definition = aspects.get(aspect)
        steps = definition.get("step_deltas") if problem is None and isinstance(definition, dict) else None
        for step in steps if isinstance(steps, list) and deltas is not None else ():
            if step not in deltas:  # Tacker onboards this and fails only when scaling
                report(policy.prop_pointer("deltas"),
                       ("warning", f"aspect {aspect!r} steps by the delta {step!r}, which these deltas do not "
                                   f"define{hint(step, deltas)}: scaling by it cannot size these targets"))
