"""What the OpenAPI document says beyond the marshmallow schemas of the views: the text a JSON
request body may not hold, and the bodies nfvo checks itself (VNFDs, NSDs)."""

from __future__ import annotations

import json
from importlib import resources

from apispec import BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_instance
from marshmallow import EXCLUDE, fields

from nfvo.domain.openbaton import IDENTITY_LIMITS

# --- text a JSON request body can hold --------------------------------------------------
#
# nfvo refuses a JSON body holding NUL or a lone surrogate in any string or key (neither can be
# stored; see nfvo.domain.sources.load_json). The OpenAPI document says so of NUL for every request
# field declared as Text or JsonValue, and for the keys of a Dict whose keys are Text (a lone
# surrogate is no Unicode text, so no JSON Schema string can hold one anyway).

#: the pattern of text without NUL
STORABLE_PATTERN = r"^[^\u0000]*$"
STORABLE_TEXT = {"type": "string", "pattern": STORABLE_PATTERN}
#: the OpenAPI schema of any JSON value nfvo stores as it is
STORABLE_JSON = {"anyOf": [
    STORABLE_TEXT,
    {"type": ["number", "boolean", "null"]},
    {"type": "array", "items": {"$ref": "#/components/schemas/StorableJson"}},
    {"type": "object", "propertyNames": {"pattern": STORABLE_PATTERN},
     "additionalProperties": {"$ref": "#/components/schemas/StorableJson"}},
], "description": "any JSON value; no text in it (string or key) holds NUL (refused with 422)"}


def _storable_object(schema: dict) -> dict:
    """``schema`` (an object's) whose other keys and their values hold no unstorable text."""
    return {**schema, "propertyNames": {"pattern": STORABLE_PATTERN},
            "additionalProperties": {"$ref": "#/components/schemas/StorableJson"}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _component_refs(value):
    """``value`` (a part of nfvo/schemas/vnfd.json) with its ``#/$defs/X`` refs as ``Vnfd_X`` components."""
    if isinstance(value, dict):
        return {k: ("#/components/schemas/Vnfd_" + v.removeprefix("#/$defs/") if k == "$ref" else _component_refs(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_component_refs(v) for v in value]
    return value


def vnfd_components() -> dict[str, dict]:
    """The OpenAPI schemas of a VNFD posted as JSON: ``Vnfd``, the JSON Schema nfvo checks it
    with (nfvo/schemas/vnfd.json; its ``$defs`` as ``Vnfd_<name>``), and ``VnfdIn``, that plus
    what a catalogue VNFD needs besides (vendor, version, the lengths of its identity)."""
    raw = json.loads(resources.files("nfvo").joinpath("schemas", "vnfd.json").read_text("utf-8"))
    components = {f"Vnfd_{name}": _component_refs(schema) for name, schema in raw.pop("$defs", {}).items()}
    components["Vnfd_text"] = {**components["Vnfd_text"], "pattern": STORABLE_PATTERN}
    components["Vnfd"] = _component_refs({k: v for k, v in raw.items() if not k.startswith("$")})
    identity = {key: {"maxLength": limit} for key, limit in IDENTITY_LIMITS}
    components["VnfdIn"] = {"allOf": [_ref("Vnfd"), _storable_object(
        {"type": "object", "required": ["vendor", "version"], "properties": identity})],
        "description": "a VNFD as Open Baton writes it; a catalogue VNFD needs vendor and version too"}
    return components


def nsd_components() -> dict[str, dict]:
    """The OpenAPI schema ``NsdIn`` of an NSD posted as JSON (see nfvo.domain.nsd.check_nsd)."""
    nonblank = {"type": "string", "pattern": r"^[^\u0000]*[^\s\u0000\u001c-\u001f][^\u0000]*$"}
    return {"NsdIn": _storable_object({
        "type": "object", "required": ["name", "vnfd"],
        "properties": {
            "name": {**nonblank, "maxLength": dict(IDENTITY_LIMITS)["name"]},
            "vendor": {"type": "string", "maxLength": dict(IDENTITY_LIMITS)["vendor"]},
            "version": {"type": "string", "maxLength": dict(IDENTITY_LIMITS)["version"]},
            "vnfd": {"type": "array", "minItems": 1, "items": {"type": "object"},
                     "description": "each a reference {\"id\": a VNFD id (a uuid) or vendor/name/version} to a "
                                    "VNFD of the project, or an inline VNFD (an object with vdu, as VnfdIn)"},
            "vld": {"type": "array", "items": {"type": "object", "required": ["name"],
                                               "properties": {"name": nonblank}},
                    "description": "virtual links, each named once"},
            "vnf_dependency": {"type": "array", "items": {"type": "object"},
                               "description": "source and target name VNFDs of this NSD"},
        }})}


class StorableObjects(BasePlugin):
    """apispec plugin: the object of a marshmallow Schema that ignores unknown keys (EXCLUDE, as
    Open Baton clients send more than nfvo reads) says that those keys and their values hold no
    NUL either, since the whole body is refused for one."""

    def schema_helper(self, name, definition, schema=None, **kwargs):
        if schema is None or resolve_schema_instance(schema).unknown != EXCLUDE:
            return None
        return _storable_object({})


def json_body_doc(schema, *, yaml: str | None = None) -> dict:
    """``@blp.doc`` keywords of the JSON request body a view reads itself (with json_document) and
    checks: ``schema`` is a marshmallow Schema class or a ``{"$ref": ...}``; ``yaml`` describes the
    YAML document the view also takes (``json_document(yaml=True)``)."""
    content = {"application/json": {"schema": schema}}
    if yaml:
        content["application/yaml"] = {"schema": {"type": "object", "description": yaml}}
    return {"requestBody": {"required": True, "content": content}}


#: a JSON document nfvo answers as it stored it (a VNFD, an NSD)
DOCUMENT = {"type": "object"}
DOCUMENTS = {"type": "array", "items": DOCUMENT}
#: the header of a page that more pages follow
LINK_NEXT = {"Link": {"description": "<URL>; rel=\"next\" when more follow", "schema": {"type": "string"}}}


class Text(fields.String):
    """A string of a JSON request body: it may not hold NUL (nor a lone surrogate)."""


class JsonValue(fields.Raw):
    """Any JSON value of a JSON request body, kept as it is (schema ``StorableJson``)."""


def storable_text_property(converter, field, ret: dict, **_kwargs) -> dict:
    """apispec attribute function: the OpenAPI keywords that say what Text, JsonValue and the
    keys of a Dict of Text keys may not hold. A Text with a pattern of its own keeps it (that
    pattern must leave out NUL itself)."""
    if isinstance(field, Text) and "pattern" not in ret:
        return {"pattern": STORABLE_PATTERN}
    if isinstance(field, JsonValue):
        return {"$ref": "#/components/schemas/StorableJson"}
    if isinstance(field, fields.Dict) and isinstance(field.key_field, Text):
        return {"propertyNames": {"pattern": STORABLE_PATTERN}}
    return {}
