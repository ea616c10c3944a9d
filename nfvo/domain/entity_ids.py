"""Open Baton entity ids: every object that is an item of a list inside a descriptor has an ``id``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from typing import Any


def with_entity_ids(document: dict, new_id: Callable[[], str] = lambda: str(uuid.uuid4()), *,
                    verbatim: Collection[str] = ()) -> dict:
    """A copy of ``document`` in which every object that is an item of a list, at any depth
    (``/vdu/0``, ``/vdu/0/vnfc/0/connection_point/0``, ``/vld/0``, ...), carries an ``id``.

    Open Baton stores each such object as an entity of its own, and its clients rely on it:
    ``openbaton ... show`` lists the items of a list by their ``id``. An item that has a
    non-empty string ``id`` keeps it (so a VNFD that is read and written back keeps its ids);
    every other item gets ``new_id()``. The top-level object and objects that are not list
    items are left as they are, and so are the values of the top-level keys in ``verbatim``
    (a format's own descriptor, kept as written). Idempotent: a document with ids comes back
    equal. Pure.
    """
    return {key: value if key in verbatim else _in_value(value, new_id) for key, value in document.items()}


def _in_value(value: Any, new_id: Callable[[], str]) -> Any:
    if isinstance(value, dict):
        return {key: _in_value(item, new_id) for key, item in value.items()}
    if isinstance(value, list):
        return [_list_item(item, new_id) for item in value]
    return value


def _list_item(item: Any, new_id: Callable[[], str]) -> Any:
    if not isinstance(item, dict):
        return _in_value(item, new_id)
    copy = _in_value(item, new_id)
    if not (isinstance(copy.get("id"), str) and copy["id"]):
        copy["id"] = new_id()
    return copy
