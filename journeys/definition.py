"""The journey definition format: pydantic models of the YAML files.

Structure only; cross-references (stage names, attributes, matchers, trigger families)
are checked by :mod:`journeys.semantics`, and :func:`journeys.loader.load_definition`
runs both.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, PrivateAttr, model_validator

from journeys.predicates import EventMatch
from journeys.timeutil import Duration, LocalTime

NAME = r"^[a-z][a-z0-9_]*$"
Name = Annotated[str, Field(pattern=NAME)]
Priority = Literal["service", "marketing"]


def _marketing() -> list[Priority]:
    return ["marketing"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _exactly_one(model: BaseModel, names: tuple[str, ...]) -> None:
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        raise ValueError(f"exactly one of {', '.join(names)} is required")


class AttributeSpec(_Model):
    """A customer attribute kept in state, and how two states' values merge."""

    type: Literal["number", "string", "date", "datetime", "bool"]
    merge: Literal["keep", "sum", "max", "min"] = Field(
        default="keep", description="keep: the identified customer's value, else the other's"
    )
    scope: Literal["entry", "customer"] | None = Field(
        default=None,
        description="entry: unset when the customer re-enters the journey; customer: kept "
        "for the customer's lifetime. Default: entry for an attribute that is some rule's "
        "goal, customer otherwise",
    )
    description: str | None = None


ContextField = Literal["locale", "timezone"]
"""The fields of an event's ``context`` (``schemas.events.EventContext``) a value can read."""


class ValueSpec(_Model):
    """Where a value comes from: a constant, an event property or trait, the event's
    context (locale, time zone), the event time, or another attribute; ``mode`` says how
    it combines with the value already held."""

    value: JsonValue = None
    property: str | None = None
    trait: str | None = None
    context: ContextField | None = Field(
        default=None,
        description="A field of the event's context: the event's own value, else the "
        "customer's last known one (a timer-fired trigger has no event: it reads the "
        "last known value). Lets a trigger carry what the campaign tool needs to word "
        "and time the message",
    )
    attribute: str | None = None
    event_time: bool | None = None
    mode: Literal["replace", "max", "min", "if_unset"] = "replace"

    @model_validator(mode="after")
    def _one_source(self) -> ValueSpec:
        named = ("property", "trait", "context", "attribute")
        sources = [n for n in named if getattr(self, n) is not None]
        sources += ["value"] if "value" in self.model_fields_set else []
        sources += ["event_time"] if self.event_time else []
        if len(sources) != 1:
            raise ValueError(
                "exactly one of value, property, trait, context, attribute, event_time is required"
            )
        return self


class Increment(_Model):
    """Add ``by`` (or the numeric value of ``property``) to a number attribute."""

    by: float = 1
    property: str | None = None


class Emit(_Model):
    """The trigger a rule emits, with its per-rule guard rails."""

    kind: str = Field(description="family.name, family one of the trigger families")
    priority: Priority | None = Field(
        default=None, description="Default: service for the recovery family, else marketing"
    )
    cooldown: Duration | None = Field(default=None, description="Minimum time between firings")
    quiet_hours: bool | None = Field(
        default=None, description="Override whether quiet hours apply to this trigger"
    )
    attributes: dict[str, ValueSpec] = Field(
        default_factory=dict, description="Payload values copied into Trigger.attributes"
    )
    variants: dict[Name, Annotated[int, Field(ge=1, le=100)]] | None = Field(
        default=None,
        description="An A/B test of this message: variant name -> percent of customers "
        "(at least two, adding up to 100). Each customer gets one variant per experiment, "
        "from sha256(customer, journey, experiment) like the holdout: stable across "
        "versions while the experiment's name and weights stay; the trigger carries it",
    )
    experiment: Name | None = Field(
        default=None,
        description="The experiment the variants belong to (default: the rule id). Rules "
        "naming the same experiment share each customer's assignment",
    )

    @property
    def family(self) -> str:
        return self.kind.split(".", 1)[0]

    @property
    def resolved_priority(self) -> Priority:
        if self.priority is not None:
            return self.priority
        return "service" if self.family == "recovery" else "marketing"


class Actions(_Model):
    """What a rule does when it fires, in this order: set, increment, unset, move, emit."""

    set: dict[str, ValueSpec] = Field(default_factory=dict)
    increment: dict[str, Increment] = Field(default_factory=dict)
    unset: list[str] = Field(default_factory=list)
    move_to: str | None = None
    emit: Emit | None = None


class InactivityWhen(_Model):
    """No event matching ``of`` (any event when omitted) for ``for``, in event time."""

    of: EventMatch | None = None
    for_: Duration = Field(alias="for")
    since: Literal["last_event", "stage_entry"] = Field(
        default="last_event",
        description="last_event: since the last matching event (stage entry if none); "
        "stage_entry: since entering the stage, if no matching event came since",
    )


class DateWhen(_Model):
    """``offset_days`` before (negative) or after a date attribute, at local ``at``;
    ``yearly``: every year on the date's anniversary (from the year after the date)."""

    attribute: str
    offset_days: int = Field(default=0, ge=-3660, le=3660)
    yearly: bool = False
    at: LocalTime = Field(default=time(9, 0), description="Local time of day, customer's zone")


class WindowWhen(_Model):
    """``count`` events matching ``event`` within ``within`` (the last one fires it)."""

    event: EventMatch
    count: int = Field(ge=1, le=1000)
    within: Duration
    reset: bool = Field(default=True, description="Forget the counted events once fired")


class ThresholdWhen(_Model):
    """A number attribute crossing ``value`` (up: from below to at least it)."""

    attribute: str
    value: float
    crosses: Literal["up", "down"] = "up"


class When(_Model):
    """Exactly one condition kind."""

    event: EventMatch | None = None
    inactivity: InactivityWhen | None = None
    date: DateWhen | None = None
    window: WindowWhen | None = None
    threshold: ThresholdWhen | None = None

    @model_validator(mode="after")
    def _one(self) -> When:
        _exactly_one(self, ("event", "inactivity", "date", "window", "threshold"))
        return self

    @property
    def kind(self) -> Literal["event", "inactivity", "date", "window", "threshold"]:
        for name in ("event", "inactivity", "date", "window", "threshold"):
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated: one condition is set")


class Rule(_Model):
    id: str = Field(pattern=NAME)
    description: str | None = None
    stages: list[str] | None = Field(default=None, description="Only in these stages")
    goal: str | None = Field(
        default=None,
        description="Attribute name: once it is set the rule has reached its goal and its "
        "triggers are suppressed with reason 'goal'",
    )
    when: When
    then: Actions


class ExitCondition(_Model):
    """Leave the journey on an event or on entering a stage."""

    name: str = Field(pattern=NAME)
    event: EventMatch | None = None
    stage: str | None = None
    reason: Literal["goal", "exit"] = "exit"

    @model_validator(mode="after")
    def _one(self) -> ExitCondition:
        _exactly_one(self, ("event", "stage"))
        return self


class Reentry(_Model):
    """What an exited customer's event matching ``on`` does: re-enter or not."""

    policy: Literal["never", "always", "after"] = "never"
    after: Duration | None = Field(default=None, description="With policy 'after'")
    on: EventMatch | None = Field(default=None, description="Default: any event")
    stage: str | None = Field(default=None, description="Stage to re-enter (initial stage)")

    @model_validator(mode="after")
    def _after(self) -> Reentry:
        if (self.policy == "after") != (self.after is not None):
            raise ValueError("'after' is required with policy 'after' and only then")
        return self


class FrequencyCap(_Model):
    max: int = Field(ge=1)
    within: Duration
    priorities: list[Priority] = Field(default_factory=_marketing)


class QuietHours(_Model):
    start: LocalTime
    end: LocalTime
    priorities: list[Priority] = Field(default_factory=_marketing)


class Deployment(_Model):
    """Settings of the whole deployment (every journey a worker runs), not of one journey.

    Declared in one definition file of the deployment (or identically in several):
    ``journeys.loader.load_definitions`` and ``journeys lint`` refuse two different ones.
    """

    frequency_cap: FrequencyCap | None = Field(
        default=None,
        description="Per customer, over the triggers of every journey (marketing only by "
        "default; service is exempt); on top of each journey's own frequency_cap",
    )


class GuardRails(_Model):
    frequency_cap: FrequencyCap | None = None
    quiet_hours: QuietHours | None = None
    holdout_percent: float = Field(default=0.0, ge=0.0, le=100.0)
    holdout_priorities: list[Priority] = Field(
        default_factory=_marketing,
        description="Priorities the control group is held out of; service messages "
        "(recovery, dunning) reach every customer by default",
    )
    reentry: Reentry = Field(default_factory=Reentry)


class TimePolicy(_Model):
    allowed_lateness: Duration = Field(
        default=timedelta(days=2), description="Older events are 'late'"
    )
    dedup_capacity: int = Field(default=256, ge=16, le=100_000)


class FanoutSide(_Model):
    event: EventMatch
    key: str = Field(description="Property holding the index key, e.g. feature_id")


class FanoutPublishSide(FanoutSide):
    """The publishing side of a fan-out: its events publish to the index key's
    subscribers as derived events of type ``as``."""

    as_: str = Field(alias="as", pattern=NAME, description="Type of the derived events")
    clear: bool = Field(default=True, description="Drop the index entry once published")


class Fanout(_Model):
    """An index kept by the stream layer: subscribers per key, and what publishes to it."""

    index: str = Field(pattern=NAME)
    subscribe: FanoutSide
    publish: FanoutPublishSide


class Journey(_Model):
    name: str = Field(pattern=NAME)
    version: int = Field(ge=1)
    description: str | None = None
    stages: list[Name] = Field(min_length=1)
    initial_stage: str
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)
    matchers: dict[str, list[EventMatch]] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    exits: list[ExitCondition] = Field(default_factory=list)
    guard_rails: GuardRails = Field(default_factory=GuardRails)
    time: TimePolicy = Field(default_factory=TimePolicy)
    fanout: list[Fanout] = Field(default_factory=list)
    deployment: Deployment | None = Field(
        default=None, description="Deployment-wide settings (see Deployment)"
    )
    migrate: dict[Name, Name] = Field(
        default_factory=dict,
        description="Where customers of another version of this journey go, old stage: new "
        "stage (a transition of kind version_upgrade). A stage that is not mapped keeps its "
        "name if this version still has it, else goes to the initial stage",
    )
    # the engine's lookup tables, built once per definition by journeys.compiled.compiled
    _compiled: object | None = PrivateAttr(default=None)
