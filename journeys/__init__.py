"""The journey engine: declarative definitions and a pure, deterministic engine.

No Kafka, no faust, no clock: time is always passed in. See journeys/README.md.
"""

from journeys import native

native.install()  # before the engine's modules: their compiled form, when built and current

from journeys.definition import Journey, Rule
from journeys.engine import advance, new_state, step
from journeys.fanout import FanoutAction, fanout_event, fanout_keys
from journeys.guards import holdout_bucket, in_holdout
from journeys.loader import (
    DefinitionError,
    default_journey,
    deployed_definitions,
    json_schema,
    load_definition,
    load_definitions,
    parse_definition,
)
from journeys.merge import merge
from journeys.outcome import AttributeChange, Goal, Outcome, Suppressed, Transition
from journeys.state import CustomerState, dump_state, load_state, migrate
from journeys.stored import STATE_SCHEMA_VERSION
from journeys.timers import next_due
from schemas.triggers import TRIGGER_FAMILIES

__all__ = [
    "STATE_SCHEMA_VERSION",
    "TRIGGER_FAMILIES",
    "AttributeChange",
    "CustomerState",
    "DefinitionError",
    "FanoutAction",
    "Goal",
    "Journey",
    "Outcome",
    "Rule",
    "Suppressed",
    "Transition",
    "advance",
    "default_journey",
    "deployed_definitions",
    "dump_state",
    "fanout_event",
    "fanout_keys",
    "holdout_bucket",
    "in_holdout",
    "json_schema",
    "load_definition",
    "load_definitions",
    "load_state",
    "merge",
    "migrate",
    "new_state",
    "next_due",
    "parse_definition",
    "step",
]
