"""``load_state`` reads a value as ``dump_state`` writes it directly, and gives what the
stored model's validation gives, for every value: written ones, and any other (coerced by
pydantic, or refused with its error)."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from journeys import default_journey, dump_state, load_state
from journeys.state import CustomerState, _load_written, fresh_state, migrate
from journeys.stored import StoredState
from tests.journeys.factories import at, make_event, play

SAMPLE = Path(__file__).parents[2] / "journeys" / "samples" / "state.v1.json"


def _validated(obj: dict[str, Any]) -> CustomerState:
    """What the stored model's validation makes of ``obj`` (the reference)."""
    stored = StoredState.model_validate(migrate(obj))
    return CustomerState(**{name: getattr(stored, name) for name in NAMES})


NAMES = [field.name for field in dataclasses.fields(CustomerState)]


def _every_field() -> CustomerState:
    """A state with every field set, optional ones included, instants with and without
    microseconds."""
    start = datetime(2025, 3, 3, 12, 0, 0, 250000, tzinfo=UTC)
    state = fresh_state("c-é", "lifecycle", 4, "active", start)
    state.exited_at, state.exit_reason, state.exit_name = start, "goal", "converted"
    state.timezone, state.locale, state.assigned_as = "Europe/Paris", "fr-FR", "anon-1"
    state.attributes = {
        "plan": "pro",
        "seats": 4,
        "spend": 120.5,
        "vip": True,
        "tags": ["a", 1, None, {"deep": [1.5, False]}],
        "profile": {"city": "Lyon", "zip": None},
    }
    second = start + timedelta(seconds=1, microseconds=-250000)
    state.last_match = {"lapsed": start, "at_risk": second}
    state.windows = {"burst": [(start, "e1"), (second, "e2")]}
    state.cooldowns = {"welcome": second}
    state.cap_history = [start, second]
    state.timers = {"lapsed": start + timedelta(days=30)}
    state.fired = {"nudge": start}
    state.seen = {"e1": start, "e2": second}
    state.events, state.late_events = 7, 2
    state.customer_cap_history = [second]
    return state


def _states() -> list[CustomerState]:
    played = play(
        default_journey(),
        [
            make_event("signed_up", at(), customer="c-0"),
            make_event("support_ticket_opened", at(1), customer="c-0"),
            make_event("order_completed", at(2), customer="c-0", amount=12),
        ],
    )
    assert played.state is not None
    sample = load_state(json.loads(SAMPLE.read_text()))
    fresh = fresh_state("c-1", "lifecycle", 1, "new", datetime(2026, 1, 1, tzinfo=UTC))
    return [played.state, sample, fresh, _every_field()]


@pytest.mark.parametrize("state", _states(), ids=["played", "sample", "fresh", "every_field"])
def test_a_written_value_is_read_directly_and_equals_the_validated_one(
    state: CustomerState,
) -> None:
    written = json.loads(json.dumps(dump_state(state)))  # as the table holds it
    direct = _load_written(written)
    assert direct is not None
    assert direct == _validated(written) == state
    assert load_state(written) == state
    assert dump_state(direct) == written
    assert all(moment.tzinfo is UTC for moment in direct.seen.values())


def _changed(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """The every-field state's written value with the item at ``path`` set to ``value``
    (``DELETE``: removed)."""
    obj = copy.deepcopy(dump_state(_every_field()))
    target: Any = obj
    for step in path[:-1]:
        target = target[step]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return obj


DELETE = object()

NOT_AS_WRITTEN = {
    # coerced by pydantic's lax mode: the result is the same as validating it
    "offset instead of Z": (("clock",), "2025-03-03T13:00:00+01:00"),
    "milliseconds": (("watermark",), "2025-03-03T12:00:00.250Z"),
    "lower-case t": (("entered_at",), "2025-03-03t12:00:00Z"),
    "integer as text": (("events",), "7"),
    "integer as float": (("entries",), 2.0),
    "bool for an integer": (("late_events",), True),
    "window hit as a 2-tuple": (("windows", "burst", 0), ("2025-03-03T12:00:00Z", "e1")),
    "no schema_version": (("schema_version",), DELETE),
    "optional key null": (("locale",), None),
    "tuple in attributes": (("attributes", "tags"), ("a", 1)),
    "empty cap history written": (("customer_cap_history",), []),
    # refused by validation, with its error, as before
    "naive instant": (("clock",), "2025-03-03T12:00:00"),
    "not a date": (("clock",), "2025-13-03T12:00:00Z"),
    "unicode digits": (("clock",), "\uff12\uff10\uff12\uff15-03-03T12:00:00Z"),  # fullwidth 2025
    "an unknown key": (("surprise",), 1),
    "missing customer_id": (("customer_id",), DELETE),
    "unknown exit reason": (("exit_reason",), "bored"),
    "window hit of three": (("windows", "burst", 0), ["2025-03-03T12:00:00Z", "e1", "x"]),
    "number as customer_id": (("customer_id",), 12),
    "null stage": (("stage",), None),
    "set in attributes": (("attributes", "tags"), {"a"}),
    "schema_version true": (("schema_version",), True),
    "schema_version 2": (("schema_version",), 2),
}


@pytest.mark.parametrize("case", NOT_AS_WRITTEN, ids=list(NOT_AS_WRITTEN))
def test_any_other_value_gives_what_validation_gives(case: str) -> None:
    path, value = NOT_AS_WRITTEN[case]
    obj = _changed(path, value)
    try:
        expected: CustomerState | type[Exception] = _validated(obj)
    except (ValidationError, ValueError) as exc:
        expected = type(exc)
    if isinstance(expected, CustomerState):
        assert load_state(obj) == expected
    else:
        with pytest.raises(expected):
            load_state(obj)


WRITTEN_INSTANT = "2025-03-03T12:00:00.250000Z"


@pytest.mark.parametrize("position", range(len(WRITTEN_INSTANT)))
def test_an_instant_changed_anywhere_gives_what_validation_gives(position: int) -> None:
    """Every character of a written instant replaced by each of a few others (digits,
    separators, letters, a space): read or refused as validation reads or refuses it."""
    for char in "0259:-+.TtZz ":
        text = WRITTEN_INSTANT[:position] + char + WRITTEN_INSTANT[position + 1 :]
        obj = _changed(("stage_entered_at",), text)
        try:
            expected = _validated(obj)
        except ValidationError:
            with pytest.raises(ValidationError):
                load_state(obj)
        else:
            assert load_state(obj) == expected, text
