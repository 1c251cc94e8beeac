"""Bounded label values of the worker's metrics, and where they come from.

Label values must come from small, known sets (never a customer id, never an error
message): event types named by the loaded journey definitions (others are ``other``),
the consumed outcomes, the suppression reasons, and short reason codes.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

__all__ = [
    "CONSUMED_OUTCOMES",
    "OTHER",
    "SUPPRESSION_REASONS",
    "event_types_of",
    "package_version",
    "reason_code",
]

OTHER = "other"
CONSUMED_OUTCOMES: tuple[str, ...] = ("processed", "duplicate", "late", "dead_lettered")
# The engine's reasons plus ``quiet_hours`` for deferrals (deferred triggers are emitted).
SUPPRESSION_REASONS = (
    "cooldown", "frequency_cap", "quiet_hours", "holdout", "exit", "goal", "reentry",
)  # fmt: skip
_CODE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


def reason_code(reason: str) -> str:
    """``reason`` when it looks like a code (``invalid_json``), else ``other``."""
    return reason if _CODE.match(reason) else OTHER


def event_types_of(definition: Any) -> set[str]:
    """Every event type a journey definition names (rules, matchers, exits, fan-out)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, BaseModel):
            types = getattr(node, "types", None)
            if isinstance(types, frozenset):  # an EventMatch
                found.update(types)
            derived = getattr(node, "as_", None)  # a fan-out's derived event type
            if isinstance(derived, str):
                found.add(derived)
            for name in type(node).model_fields:
                walk(getattr(node, name))
        elif isinstance(node, Mapping):
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    walk(definition)
    return found


def package_version() -> str:
    """The installed ``journeys`` package's version, ``unknown`` when not installed."""
    try:
        return importlib.metadata.version("journeys")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
