"""A known effect on the treated: only they change, only by the shifted draws."""

from __future__ import annotations

import pytest

from journeys import in_holdout
from streams.sim.effect import Effect, parse_effect
from streams.sim.life import draw_profile
from streams.sim.population import generate


def test_no_effect_is_the_population_without_the_option() -> None:
    assert list(generate(5, 60, days=20)) == list(generate(5, 60, days=20, effect=None))
    null = Effect("activation", 0.0, "lifecycle", 5.0)
    assert list(generate(5, 60, days=20, effect=null)) == list(generate(5, 60, days=20))


def test_only_treated_customers_change_and_only_towards_the_goal() -> None:
    import random

    effect = Effect("activation", 0.2, "lifecycle", 50.0)
    changed = 0
    for i in range(400):
        customer = f"c{i:07d}"
        base = draw_profile(random.Random(f"9:{i}"), customer, 0.0, 0.3)
        shifted = draw_profile(random.Random(f"9:{i}"), customer, 0.0, 0.3, effect)
        entry_key = base.anonymous_id or customer  # a visitor's journey starts anonymous
        if in_holdout(entry_key, "lifecycle", 50.0):
            assert shifted == base
        elif shifted != base:
            changed += 1
            assert shifted.activates and not base.activates
    assert 400 * 0.5 * 0.2 * 0.6 < changed < 400 * 0.5 * 0.2 * 1.4


def test_conversion_effect_is_carried_by_the_profile() -> None:
    import random

    effect = Effect("conversion", 0.1, "lifecycle", 0.0)
    profile = draw_profile(random.Random("1:1"), "c1", 0.0, 0.0, effect)
    assert profile.conversion_shift == 0.1


@pytest.mark.parametrize(
    ("text", "goal", "lift"),
    [
        ("activation+0.10", "activation", 0.1),
        ("conversion-0.05", "conversion", -0.05),
        ("spend+0.2", "spend", 0.2),
    ],
)
def test_parse_effect(text: str, goal: str, lift: float) -> None:
    assert parse_effect(text, "lifecycle", 5.0) == Effect(goal, lift, "lifecycle", 5.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["activation", "sales+0.1", "activation+2"])
def test_bad_effects_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_effect(text, "lifecycle", 5.0)


def test_a_spend_effect_scales_only_the_treated_customers_orders() -> None:
    """Same draws, so every order amount of a treated customer is 1.2 times larger (to
    the cent) and nothing else changes; the control group's events are byte for byte."""
    import orjson

    effect = Effect("spend", 0.2, "lifecycle", 50.0)
    base, moved = list(generate(4, 80, days=30)), list(generate(4, 80, days=30, effect=effect))
    assert len(base) == len(moved)
    scaled = 0
    for a, b in zip(base, moved, strict=True):
        if a.value == b.value:
            continue
        x, y = orjson.loads(a.value), orjson.loads(b.value)
        assert x["type"] in ("order_completed", "refund_issued")
        assert not in_holdout(x.get("anonymous_id") or x["customer_id"], "lifecycle", 50.0)
        assert {k: v for k, v in x["properties"].items() if k != "amount"} == {
            k: v for k, v in y["properties"].items() if k != "amount"
        }
        assert y["properties"]["amount"] == pytest.approx(
            x["properties"]["amount"] * 1.2, abs=0.011
        )
        scaled += 1
    assert scaled > 10
