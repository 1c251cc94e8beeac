"""The driver the worker and replay share: every journey of a key, in one call."""

from __future__ import annotations

from journeys import advance, default_journey, driver, merge, next_due, step
from schemas import TouchpointEvent
from tests.journeys.factories import at, customer_outside_holdout, ev

JOURNEY = default_journey()


def test_on_event_equals_step_per_definition_and_keeps_untouched_states() -> None:
    customer = customer_outside_holdout(JOURNEY)
    signup = ev("d1", "signed_up", at(), customer=customer)
    done = driver.on_event([JOURNEY], {}, signup)
    state, outcome = step(JOURNEY, None, signup)
    assert done.status == "processed" and done.changed == (JOURNEY.name,)
    assert done.states == {JOURNEY.name: state} and done.outcomes == [(JOURNEY.name, outcome)]
    again = driver.on_event([JOURNEY], done.states, signup)
    assert again.status == "duplicate" and again.changed == ()
    assert again.states[JOURNEY.name] is done.states[JOURNEY.name]


def test_on_time_advances_only_what_is_due() -> None:
    customer = customer_outside_holdout(JOURNEY)
    states = driver.on_event([JOURNEY], {}, ev("d2", "signed_up", at(), customer=customer)).states
    due = driver.due(states)
    assert due is not None and due == next_due(states[JOURNEY.name])
    early = driver.on_time([JOURNEY], states, due - (due - at()) / 2)
    assert early.outcomes == [] and early.changed == ()
    woken = driver.on_time([JOURNEY], states, due)
    expected, outcome = advance(JOURNEY, states[JOURNEY.name], due)
    assert woken.states[JOURNEY.name] == expected
    assert woken.outcomes[0] == (JOURNEY.name, outcome)


def test_absorb_merges_or_rekeys_the_anonymous_states() -> None:
    anonymous = TouchpointEvent(
        event_id="d3", anonymous_id="anon-7", type="page_viewed", event_time=at()
    )
    theirs = driver.on_event([JOURNEY], {}, anonymous).states
    taken = driver.absorb([JOURNEY], "cust-7", {}, theirs)
    assert taken[JOURNEY.name].customer_id == "cust-7"
    mine = driver.on_event([JOURNEY], {}, ev("d4", "signed_up", at(1), customer="cust-7")).states
    merged = driver.absorb([JOURNEY], "cust-7", mine, theirs)
    assert merged[JOURNEY.name] == merge(JOURNEY, mine[JOURNEY.name], theirs[JOURNEY.name])


def test_link_of_names_the_anonymous_key_to_merge() -> None:
    linking = TouchpointEvent(
        event_id="d5", customer_id="c", anonymous_id="a", type="identify", event_time=at()
    )
    assert driver.link_of(linking) == "a"
    assert driver.link_of(linking.model_copy(update={"anonymous_id": "c"})) is None
    assert driver.link_of(ev("d6", "identify", at(), customer="c")) is None
