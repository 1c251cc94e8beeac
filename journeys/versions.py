"""A new version of a journey against the deployed one (``journeys lint NEW --previous OLD``).

The engine moves a customer whose state another version wrote where the running
version's ``migrate`` says (``journeys.engine._adopt``); a stage that is not mapped keeps
its name if it still exists, else goes to the initial stage. That silent fallback is what
these checks refuse before deploying: every stage customers may be in must still exist
or be mapped. Those stages are the previous version's own and the ones its ``migrate``
maps (customers of older versions not seen since may still be in them: the engine
migrates a state only when it next sees it, from whatever version wrote it).
"""

from __future__ import annotations

from journeys.definition import Journey
from journeys.semantics import Issue


def upgrade_issues(previous: Journey, new: Journey, source: str) -> list[Issue]:
    """What is wrong with deploying ``new`` over ``previous`` (read from ``source``)."""
    was = f"version {previous.version} ({source})"
    if new.version < previous.version:
        return [("version", f"{new.version} is older than {was}")]
    if new.version == previous.version:
        if set(new.stages) != set(previous.stages):
            return [
                (
                    "version",
                    f"the stages differ from {was} but the version is the same: customers "
                    "are migrated only to a new version",
                )
            ]
        return []
    issues: list[Issue] = []
    for stage in previous.stages:
        if stage not in new.stages and stage not in new.migrate:
            issues.append(
                (
                    "stages",
                    f"stage '{stage}' of {was} is dropped without a mapping: its customers "
                    f"would go to the initial stage '{new.initial_stage}'; add migrate: "
                    f"{{{stage}: STAGE}}",
                )
            )
    for stage, target in previous.migrate.items():
        if stage not in new.stages and stage not in new.migrate:
            keep = target if target in new.stages else "STAGE"
            issues.append(
                (
                    "migrate",
                    f"stage '{stage}', mapped by {was}, is dropped without a mapping: "
                    f"customers of older versions may still be in it; keep migrate: "
                    f"{{{stage}: {keep}}}",
                )
            )
    return issues


def kept_stages(previous: Journey, new: Journey) -> frozenset[str]:
    """The stages customers of ``previous`` stay in under ``new`` (same name, not mapped)."""
    return frozenset(s for s in previous.stages if s in new.stages and s not in new.migrate)
