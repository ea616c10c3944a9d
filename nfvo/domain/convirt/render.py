"""A VM's ``vm_conf`` and ``image.conf`` rendered from a checked ConVirt template and a payload (like day-0).

The payload is ``{"vmName": NAME, "properties": {OPTION: value}?}``.  Rendering

1. sets each given property on the option of that name in ``image.conf`` and in
   ``vm_conf.template``, where it is customizable (a name in both files sets both);
2. recomputes every computed option, in file order, from the options before it;
3. fills the template variables (one pass, :mod:`nfvo.domain.convirt.template`): in
   ``image.conf`` VM_NAME (``vmName``), IMAGE_STORE (the ``image_store`` argument) and
   IMAGE_NAME; in ``vm_conf.template`` those and the rendered options of ``image.conf``
   (a number or boolean as ``str()`` gives it);
4. writes each file as Python syntax, one ``name = repr(value)`` line per option in file
   order; ``computed_options`` and ``customizable_options`` are left out.

Messages never quote a given value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nfvo.domain import findings
from nfvo.domain.convirt.expressions import MAX_DEPTH, MAX_INT, MAX_VALUE_CHARS, ExpressionError, evaluate, kind, weight
from nfvo.domain.convirt.model import DEFAULT_IMAGE_STORE, PREDEFINED, ConfigFile, ConvirtTemplate
from nfvo.domain.convirt.template import as_text, scan, strings, substitute
from nfvo.errors import Issue, ValidationFailed

PAYLOAD_KEYS = ("vmName", "properties")
MAX_VM_NAME = 255
_LISTED = 20  # customizable options named in a refusal


@dataclass(frozen=True)
class RenderedTemplate:
    """The two files of one VM, as Python-syntax text."""

    vm_name: str
    vm_conf: str
    image_conf: str

    def to_dict(self) -> dict:
        """``{"vmName", "files": [{"name": "vm_conf", "content"}, {"name": "image.conf", "content"}]}``."""
        return {"vmName": self.vm_name, "files": [{"name": "vm_conf", "content": self.vm_conf},
                                                  {"name": "image.conf", "content": self.image_conf}]}


def render(template: ConvirtTemplate, payload: Any, *, image_store: str = DEFAULT_IMAGE_STORE) -> RenderedTemplate:
    """The rendered files of a VM (see the module docstring).

    Raises ValidationFailed listing every problem of the payload at once, each at its JSON
    pointer: not an object, or an unknown key (``/<key>``); ``vmName`` missing, not a string,
    empty, longer than ``MAX_VM_NAME``, or holding ``/``, whitespace, NUL or another
    unprintable character (``/vmName``); ``properties`` not an object; a property that is
    not a customizable option of either file, or a predefined variable
    (``/properties/<name>``); a value that is null or holds one, or that is not of the kind
    of the option's value (string, number, boolean, list, dict), an int beyond +-2**63-1,
    nesting deeper than MAX_DEPTH, longer than MAX_VALUE_CHARS as Python text, or a string
    in it using an undefined variable; a computed option that cannot be computed from the
    given properties (at the first property it depends on).
    """
    if not isinstance(payload, dict):
        raise ValidationFailed("the render payload must be a JSON object", errors=[Issue("must be an object",
                                                                                       pointer="")])
    issues = [Issue(f"unknown key (known: {', '.join(PAYLOAD_KEYS)})", pointer=f"/{_escape(key)}")
              for key in payload if key not in PAYLOAD_KEYS]
    vm_name = _vm_name(payload.get("vmName"), issues)
    given = payload.get("properties", {})
    if not isinstance(given, dict):
        issues.append(Issue("properties must be an object of OPTION: value", pointer="/properties"))
        given = {}
    configs = (template.image_conf, template.vm_conf)
    overrides: dict[str, dict[str, Any]] = {config.file: {} for config in configs}
    for name, value in given.items():
        _property(template, name, value, overrides, issues)
    image_values = _recompute(template.image_conf, overrides[template.image_conf.file], issues)
    vm_values = _recompute(template.vm_conf, overrides[template.vm_conf.file], issues)
    if issues:
        count = len(issues)
        raise ValidationFailed(f"{count} problem{'s' if count != 1 else ''} in the render payload",
                               errors=findings.ordered(issues))
    predefined = {"VM_NAME": vm_name, "IMAGE_STORE": image_store, "IMAGE_NAME": template.image_name}
    image_values = {name: substitute(value, predefined) for name, value in image_values.items()}
    variables = {name: text for name, value in image_values.items() if (text := as_text(value)) is not None}
    variables.update(predefined)
    vm_values = {name: substitute(value, variables) for name, value in vm_values.items()}
    return RenderedTemplate(vm_name, _python(vm_values), _python(image_values))


def _escape(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _vm_name(name: Any, issues: list[Issue]) -> str:
    problem = None
    if name is None:
        problem = "vmName is required: the name of the VM to provision"
    elif not isinstance(name, str):
        problem = f"vmName must be a string (got {kind(name)})"
    elif not name or len(name) > MAX_VM_NAME:
        problem = f"vmName must be 1 to {MAX_VM_NAME} characters long"
    elif "/" in name or any(c.isspace() for c in name) or not name.isprintable():
        problem = "vmName must not hold '/', whitespace, NUL or other unprintable characters: it names files"
    if problem:
        issues.append(Issue(problem, pointer="/vmName"))
        return ""
    return name


def _property(template: ConvirtTemplate, name: Any, value: Any, overrides: dict[str, dict[str, Any]],
              issues: list[Issue]) -> None:
    pointer = f"/properties/{_escape(name)}"
    configs = [c for c in (template.image_conf, template.vm_conf) if name in c.customizable_names()]
    if not configs:
        issues.append(Issue(_not_customizable(template, name), pointer=pointer))
        return
    problem = _value_problem(value)
    if problem:
        issues.append(Issue(problem, pointer=pointer))
        return
    for config in configs:
        option = config.option(name)
        if kind(value) != kind(option.value):
            issues.append(Issue(f"must be {kind(option.value)} like the value of {name} in {config.file} (line "
                                f"{option.line}); got {kind(value)}", pointer=pointer))
            continue
        problem = _undefined(template, config, value)
        if problem:
            issues.append(Issue(problem, pointer=pointer))
            continue
        overrides[config.file][name] = value


def _not_customizable(template: ConvirtTemplate, name: Any) -> str:
    if name == "VM_NAME":
        return "VM_NAME is filled from vmName, not a property"
    if name in PREDEFINED:
        return f"{name} is filled by ConVirt at provisioning, not a property"
    for config in (template.image_conf, template.vm_conf):
        option = config.option(name) if isinstance(name, str) else None
        if option is not None and option.computed:
            return f"{name} is a computed option of {config.file}: it is computed from other options"
        if option is not None:
            return f"{name} of {config.file} is not customizable (not in its customizable_options)"
    names = [n for c in (template.image_conf, template.vm_conf) for n in c.customizable_names()]
    shown = ", ".join(dict.fromkeys(names[:_LISTED])) + (", ..." if len(names) > _LISTED else "")
    return f"not an option of the template (customizable: {shown or 'none'})"


def _value_problem(value: Any) -> str | None:
    """Why a property value cannot be an option's value, or None."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep"
        if item is None:
            return "null is not allowed (give a string, number, boolean, list or object)"
        if isinstance(item, float) and not math.isfinite(item):
            return "must be a finite number"
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INT:
            return f"an integer is at most {MAX_INT} in size"
        if isinstance(item, list):
            stack.extend((element, depth + 1) for element in item)
        elif isinstance(item, dict):
            stack.extend((element, depth + 1) for pair in item.items() for element in pair)
        elif not isinstance(item, str | int | float):
            return f"{type(item).__name__} is not allowed (give a string, number, boolean, list or object)"
    if weight(value) > MAX_VALUE_CHARS:
        return f"longer than {MAX_VALUE_CHARS} characters as Python text"
    return None


def _undefined(template: ConvirtTemplate, config: ConfigFile, value: Any) -> str | None:
    """The first variable a given value uses that the file cannot fill, as a message, or None."""
    image_values = template.image_conf.values() if config is template.vm_conf else {}
    for text in strings(value):
        for name, written, offset in scan(text):
            if name is None or name in PREDEFINED:
                continue
            if name not in image_values:
                return (f"undefined variable {written} (at character {offset + 1}) for {config.file}: write $$ for a "
                        "literal $")
            if as_text(image_values[name]) is None:
                return f"{written} (at character {offset + 1}) is {kind(image_values[name])}: it cannot be put into a string"
    return None


def _recompute(config: ConfigFile, overrides: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
    """name -> value of every option of ``config``, properties set and computed options recomputed;
    a computed option that fails is reported at the first property it depends on."""
    causes = {name: name for name in overrides}  # option -> the property its value comes from
    env: dict[str, tuple[Any, int]] = {}
    values: dict[str, Any] = {}
    for option in config.options:
        value = overrides.get(option.name, option.value)
        if option.computed:
            cause = next((causes[r] for r in option.references if r in causes), None)
            try:
                value = evaluate(option.expression, env)
            except ExpressionError as exc:
                pointer = f"/properties/{_escape(cause)}" if cause else "/properties"
                issues.append(Issue(f"the computed option {option.name} of {config.file} (line {option.line}) cannot "
                                    f"be computed from the given properties: {exc.message}", pointer=pointer))
            if cause:
                causes.setdefault(option.name, cause)
        env[option.name] = (value, weight(value))
        values[option.name] = value
    return values


def _python(values: dict[str, Any]) -> str:
    return "".join(f"{name} = {value!r}\n" for name, value in values.items())
