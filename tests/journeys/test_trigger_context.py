"""Trigger context: ``emit.attributes`` (and ``set``) read the event's context, locale and
time zone, and a timer-fired trigger reads the customer's last known values (issue 22,
"Trigger payload": a marketing tool needs both to word and time the message)."""

from __future__ import annotations

from typing import Any

import pytest

from journeys import DefinitionError, dump_state, load_state, merge, parse_definition
from schemas import TouchpointEvent
from tests.journeys.factories import T0, at, build, iso, play

CONTEXT = build(
    {
        "stages": ["new", "done"],
        "attributes": {"lang": {"type": "string"}},
        "rules": [
            {
                "id": "hello",
                "when": {"event": {"type": "signed_up"}},
                "then": {
                    "set": {"lang": {"context": "locale"}},
                    "emit": {
                        "kind": "onboarding.welcome",
                        "attributes": {
                            "locale": {"context": "locale"},
                            "timezone": {"context": "timezone"},
                        },
                    },
                },
            },
            {
                "id": "idle",
                "when": {"inactivity": {"for": "1d"}},
                "then": {
                    "emit": {
                        "kind": "onboarding.nudge",
                        "attributes": {
                            "locale": {"context": "locale"},
                            "timezone": {"context": "timezone"},
                            "lang": {"attribute": "lang"},
                        },
                    }
                },
            },
        ],
    }
)


def _event(
    event_id: str,
    type_: str,
    when: Any,
    customer: str = "c-1",
    **context: str,
) -> TouchpointEvent:
    return TouchpointEvent(
        event_id=event_id,
        customer_id=customer,
        type=type_,
        event_time=when,
        context=context,
    )


def test_an_event_trigger_carries_the_events_locale_and_time_zone() -> None:
    played = play(CONTEXT, [_event("e1", "signed_up", T0, locale="fr-FR", timezone="Europe/Paris")])
    assert [(t.rule, t.attributes) for t in played.triggers] == [
        ("hello", {"locale": "fr-FR", "timezone": "Europe/Paris"})
    ]
    assert played.state is not None and played.state.attributes == {"lang": "fr-FR"}


def test_a_timer_trigger_carries_the_customers_last_known_locale_and_time_zone() -> None:
    """No event causes a timer: before, its payload had no way to name either value."""
    played = play(
        CONTEXT,
        [
            _event("e1", "signed_up", T0, locale="fr-FR", timezone="Europe/Paris"),
            _event("e2", "page_viewed", at(hours=1), locale="de-DE", timezone="Europe/Berlin"),
        ],
        until=at(days=2),
    )
    assert [(t.rule, iso(t.emitted_at), t.attributes) for t in played.triggers] == [
        ("hello", "2025-03-03T12:00:00Z", {"locale": "fr-FR", "timezone": "Europe/Paris"}),
        (
            "idle",
            "2025-03-04T13:00:00Z",
            {"locale": "de-DE", "timezone": "Europe/Berlin", "lang": "fr-FR"},
        ),
    ]


def test_an_event_without_context_falls_back_to_the_last_known_values() -> None:
    played = play(
        CONTEXT,
        [
            _event("e1", "page_viewed", T0, locale="pt-BR", timezone="America/Sao_Paulo"),
            _event("e2", "signed_up", at(hours=1)),
        ],
    )
    assert [t.attributes for t in played.triggers] == [
        {"locale": "pt-BR", "timezone": "America/Sao_Paulo"}
    ]


def test_a_late_events_context_does_not_replace_the_last_known_one() -> None:
    """The latest event time wins, as for the time zone the engine already kept."""
    played = play(
        CONTEXT,
        [
            _event("e1", "page_viewed", at(hours=2), locale="ja-JP", timezone="Asia/Tokyo"),
            _event("e2", "page_viewed", at(hours=1), locale="en-GB", timezone="Europe/London"),
        ],
        until=at(days=2),
    )
    assert played.state is not None
    assert (played.state.locale, played.state.timezone) == ("ja-JP", "Asia/Tokyo")
    assert [t.attributes for t in played.triggers] == [
        {"locale": "ja-JP", "timezone": "Asia/Tokyo"}
    ]


def test_unknown_values_are_left_out_of_the_payload() -> None:
    played = play(CONTEXT, [_event("e1", "signed_up", T0)], until=at(days=2))
    assert [t.attributes for t in played.triggers] == [{}, {}]


def test_the_state_keeps_the_locale_only_for_a_journey_that_reads_it() -> None:
    """Personal data kept only where a rule uses it; other journeys' states unchanged."""
    plain = build(
        {"rules": [{"id": "r", "when": {"event": {"type": "x"}}, "then": {"move_to": "done"}}]}
    )
    first = _event("e1", "x", T0, locale="fr-FR", timezone="Europe/Paris")
    kept, unread = play(CONTEXT, [first]).state, play(plain, [first]).state
    assert kept is not None and unread is not None
    assert (kept.locale, dump_state(kept)["locale"]) == ("fr-FR", "fr-FR")
    assert unread.locale is None and "locale" not in dump_state(unread)


def test_stored_states_without_a_locale_still_load_and_round_trip() -> None:
    """Backward compatible: schema version 1 unchanged, the field optional."""
    state = play(CONTEXT, [_event("e1", "x", T0, locale="fr-FR")]).state
    assert state is not None
    stored = dump_state(state)
    assert load_state(stored) == state
    older = {k: v for k, v in stored.items() if k != "locale"}
    assert older["schema_version"] == 1 and load_state(older).locale is None
    assert dump_state(load_state(older)) == older


def test_a_merge_keeps_the_identified_customers_locale_else_the_anonymous_one() -> None:
    anonymous = play(CONTEXT, [_event("a1", "x", T0, customer="anon", locale="it-IT")]).state
    known = play(CONTEXT, [_event("k1", "x", T0, customer="c-1")]).state
    assert anonymous is not None and known is not None
    assert merge(CONTEXT, known, anonymous).locale == "it-IT"
    speaking = play(CONTEXT, [_event("k1", "x", T0, customer="c-1", locale="es-ES")]).state
    assert speaking is not None
    assert merge(CONTEXT, speaking, anonymous).locale == "es-ES"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"context": "country"}, "Input should be 'locale' or 'timezone'"),
        (
            {"context": "locale", "trait": "locale"},
            "exactly one of value, property, trait, context, attribute, event_time",
        ),
    ],
)
def test_a_context_source_names_one_known_field(spec: dict[str, Any], message: str) -> None:
    data = {
        "name": "bad",
        "version": 1,
        "stages": ["new"],
        "initial_stage": "new",
        "rules": [
            {
                "id": "r",
                "when": {"event": {"type": "x"}},
                "then": {"emit": {"kind": "onboarding.x", "attributes": {"v": spec}}},
            }
        ],
    }
    with pytest.raises(DefinitionError, match=message):
        parse_definition(data)
