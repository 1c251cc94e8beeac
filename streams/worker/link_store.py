"""The ``links`` table: identity links between keys, both ways.

One JSON value per key, written only while a message keyed by that key is processed
(the table is co-partitioned with the journey agent's input), so in its partition, with
its changelog in that message's transaction:

* ``linked_to`` (with the linking ``event_id`` and its time ``at``): the key is linked to
  that customer (an anonymous id identified, a user id aliased); written when the key's
  ``MergeRequest`` is processed (:mod:`streams.worker.links`);
* ``merged``: the keys linked into this one, whose states it merged (and the keys merged
  into those before them); written when their ``MergeState`` is merged here. An erasure
  of the key follows them (:mod:`streams.worker.erasure`).

``linked_to`` is read only for keys that have no state (a key with state is not linked),
so a known customer's event costs no lookup; ``merged`` only by an erasure. A value is
always reassigned, never mutated in place (only a reassignment writes the changelog).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import datetime
from typing import Any

from schemas.codec import isoformat_utc

Link = dict[str, Any]  # the table's value


class LinkStore:
    """The links of the keys of this worker's partitions (``table``: a faust table in the
    worker, a dict in tests of the store alone)."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table

    def get(self, key: str) -> Link:
        """``key``'s value (``{}``: none)."""
        value = self.table.get(key)
        return dict(value) if isinstance(value, dict) else {}

    def linked_to(self, key: str) -> str | None:
        """The customer ``key`` is linked to (one hop), or None."""
        target = self.get(key).get("linked_to")
        return str(target) if target is not None else None

    def link(self, key: str, customer: str, event_id: str, at: datetime | None) -> None:
        """Link ``key`` to ``customer`` (by the event ``event_id`` at ``at``)."""
        value = self.get(key)
        value.update(linked_to=customer, event_id=event_id)
        if at is not None:
            value["at"] = isoformat_utc(at)
        self.table[key] = value

    def unlink(self, key: str) -> None:
        """Drop ``key``'s own link (a loop is cut there); the keys merged into it stay."""
        value = self.get(key)
        for name in ("linked_to", "event_id", "at"):
            value.pop(name, None)
        self._put(key, value)

    def merged(self, key: str) -> list[str]:
        """The keys linked into ``key`` (whose states it merged), in merge order."""
        return [str(k) for k in self.get(key).get("merged", ())]

    def add_merged(self, key: str, keys: Iterable[str]) -> None:
        """Remember that ``keys`` were linked into ``key``."""
        value = self.get(key)
        known = [str(k) for k in value.get("merged", ())]
        new = [k for k in dict.fromkeys(keys) if k != key and k not in known]
        if new:
            value["merged"] = [*known, *new]
            self.table[key] = value

    def neighbours(self, key: str) -> list[str]:
        """Every key linked with ``key`` one hop away: merged into it, or linked from it."""
        value = self.get(key)
        found = [str(k) for k in value.get("merged", ())]
        if value.get("linked_to") is not None:
            found.append(str(value["linked_to"]))
        return list(dict.fromkeys(k for k in found if k != key))

    def forget(self, key: str) -> bool:
        """Delete ``key``'s value (a tombstone in the changelog); False when it had none."""
        if key not in self.table:
            return False
        del self.table[key]
        return True

    def _put(self, key: str, value: Link) -> None:
        if value:
            self.table[key] = value
        elif key in self.table:
            del self.table[key]
