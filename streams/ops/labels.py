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
    "COHORTS",
    "CONSUMED_OUTCOMES",
    "OTHER",
    "SUPPRESSION_REASONS",
    "event_types_of",
    "goals_of",
    "package_version",
    "reason_code",
    "variants_of",
]

OTHER = "other"
CONSUMED_OUTCOMES: tuple[str, ...] = ("processed", "duplicate", "late", "dead_lettered")
# The engine's reasons plus ``quiet_hours`` for deferrals (deferred triggers are emitted).
SUPPRESSION_REASONS = (
    "cooldown", "frequency_cap", "quiet_hours", "holdout", "exit", "goal", "reentry",
)  # fmt: skip
COHORTS: tuple[str, ...] = ("treated", "holdout")  # the engine's ``Cohort``
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


def goals_of(definition: Any) -> list[str]:
    """A journey definition's goals: its rules' goal attributes, then its goal exits."""
    found: list[str] = []
    for rule in definition.rules:
        if rule.goal is not None and rule.goal not in found:
            found.append(rule.goal)
    found += [e.name for e in definition.exits if e.reason == "goal" and e.name not in found]
    return found


def variants_of(definition: Any) -> list[tuple[str, str]]:
    """A journey definition's (experiment, variant) pairs (an experiment defaults to the
    id of the rule whose emit declares the variants)."""
    found: list[tuple[str, str]] = []
    for rule in definition.rules:
        emit = rule.then.emit
        for variant in (emit.variants or {}) if emit is not None else {}:
            pair = (emit.experiment or rule.id, variant)
            if pair not in found:
                found.append(pair)
    return found


def package_version() -> str:
    """The installed ``journeys`` package's version, ``unknown`` when not installed."""
    try:
        return importlib.metadata.version("journeys")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
