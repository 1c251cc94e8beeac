"""The two deployments ``journeys diff`` compares: every journey of each side, together.

A journey never runs alone: the worker runs every definition of its deployment on each
customer, and the deployment's per-customer frequency cap (the ``deployment:`` block of
its definitions) counts the triggers of all of them, so a change to one journey can
take a message away from another. Diffing one definition alone predicted triggers the
deployment never sends; each side here is a whole deployment, loaded as the worker
loads one (``journeys.load_definitions``: no journey name twice, one cap):

* ``--base`` files given: the base is exactly those files, and the other side exactly
  the ``--definition`` files;
* no ``--base``: the base is the deployed definitions (``JOURNEYS_JOURNEY_PATHS``, else
  the built-in default journey), and the other side is that deployment after the change:
  each ``--definition`` file in the place of the deployed journey of its name (a new
  name is added at the end).

Journeys are matched by name; one with no counterpart on the other side is compared
with nothing (all its triggers added or removed), and :func:`unmatched` says so: a
diff of two unrelated journeys is rarely what was meant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from journeys import Journey, load_definitions
from journeys.definition import FrequencyCap
from journeys.driver import customer_cap
from journeys.loader import DEFINITIONS
from journeys.timeutil import format_duration


@dataclass(frozen=True, slots=True)
class Deployment:
    """The definitions one side runs together, in the order the worker runs them."""

    journeys: list[Journey]

    @property
    def cap(self) -> FrequencyCap | None:
        """The per-customer frequency cap over every journey, if declared."""
        return customer_cap(self.journeys)

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.journeys]

    def get(self, name: str) -> Journey | None:
        return next((j for j in self.journeys if j.name == name), None)

    def describe(self) -> str:
        """``lifecycle v1, newsletter v2; deployment cap 3 per 7d``."""
        text = ", ".join(f"{j.name} v{j.version}" for j in self.journeys)
        cap = self.cap
        if cap is not None:
            text += f"; deployment cap {cap.max} per {format_duration(cap.within)}"
        return text


def deployed_paths(journey_paths: Sequence[Path]) -> list[Path]:
    """The files of what the worker runs: its ``journey_paths`` (JOURNEYS_JOURNEY_PATHS),
    else the default."""
    return list(journey_paths) or [DEFINITIONS / "lifecycle.yaml"]


def sides(
    base: Sequence[str] | None, definitions: Sequence[str], *, deployed: Sequence[Path] = ()
) -> tuple[Deployment, Deployment]:
    """The base deployment and the changed one (module docstring), ``deployed`` the
    worker's ``journey_paths`` (none: the built-in default). ``DefinitionError`` (a
    ``ValueError``) or ``OSError`` when a side cannot be loaded."""
    given = [Path(p) for p in definitions]
    if base:
        return Deployment(load_definitions(base)), Deployment(load_definitions(given))
    deployed = deployed_paths(deployed)
    before = load_definitions(deployed)
    changed = {j.name: path for path, j in zip(given, load_definitions(given), strict=True)}
    paths = [changed.pop(j.name, path) for path, j in zip(deployed, before, strict=True)]
    after = load_definitions([*paths, *changed.values()])
    return Deployment(before), Deployment(after)


def unmatched(base: Deployment, new: Deployment) -> list[str]:
    """A warning per journey with no counterpart of its name on the other side."""
    only_base = [n for n in base.names if n not in new.names]
    only_new = [n for n in new.names if n not in base.names]
    if len(base.journeys) == len(new.journeys) == 1 and only_base and only_new:
        return [
            f"comparing unrelated journeys: the base is {only_base[0]!r}, the definition "
            f"{only_new[0]!r}; every trigger of one counts as removed, of the other as added"
        ]
    warnings = [
        f"base journey {name!r} has no counterpart among the definitions: its triggers "
        "count as removed"
        for name in only_base
    ]
    warnings += [
        f"journey {name!r} has no counterpart in the base: its triggers count as added"
        for name in only_new
    ]
    return warnings
