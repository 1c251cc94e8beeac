"""A known effect of a journey on its treated customers, so that a measured lift can be
checked against the truth.

The simulator does not model messages; it models who a customer is. An :class:`Effect`
says: customers outside the journey's control group (the same deterministic holdout as
the engine's, ``journeys.in_holdout``) are ``lift`` more likely (an absolute change of
probability) to reach ``goal``:

* ``activation``: to make the key action that activates them (the default journey's
  goal ``activated_at``); the base probability is 60%;
* ``conversion``: to subscribe at the end of a trial (``converted_at``); the base is 50%
  for a customer who activates, 15% for one who does not;
* ``spend``: to spend more per order: ``lift`` is a relative change of every order's
  amount (``spend+0.20``: each order of a treated customer is 20% larger), so the
  revenue per customer that ``journeys report`` measures moves by that share of the
  treated customers' own revenue (a known effect on value, not on conversion).

Every customer's random draws stay the same (one uniform draw is compared with a shifted
threshold), so a population with no effect is byte for byte the one without the option,
and an effect changes only the treated customers whose draw falls in the shifted band.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from journeys import in_holdout

Goal = Literal["activation", "conversion", "spend"]
GOALS: tuple[Goal, ...] = ("activation", "conversion", "spend")
_SPEC = re.compile(r"^(activation|conversion|spend)([+-]\d*\.?\d+)$")


@dataclass(frozen=True, slots=True)
class Effect:
    """Treated customers of ``journey`` (``holdout_percent`` held out) reach ``goal`` with
    a probability changed by ``lift`` (``spend``: spend ``lift`` more, relatively)."""

    goal: Goal
    lift: float
    journey: str = "lifecycle"
    holdout_percent: float = 5.0

    def __post_init__(self) -> None:
        if not -1 < self.lift < 1:
            raise ValueError(f"an effect's lift is a change of probability in (-1, 1): {self.lift}")

    def shift(self, goal: Goal, customer_id: str) -> float:
        """How much ``customer_id``'s probability of reaching ``goal`` changes."""
        if goal != self.goal or in_holdout(customer_id, self.journey, self.holdout_percent):
            return 0.0
        return self.lift


def parse_effect(text: str, journey: str, holdout_percent: float) -> Effect:
    """``activation+0.10`` (ten points more likely to activate), ``conversion-0.05``."""
    found = _SPEC.match(text.replace(" ", ""))
    if found is None:
        raise ValueError(f"not an effect: {text!r} (GOAL+CHANGE, e.g. activation+0.10, spend+0.20)")
    goal: Goal = {"activation": "activation", "conversion": "conversion"}.get(  # type: ignore[assignment]  # the pattern admits only the three
        found.group(1), "spend"
    )
    return Effect(goal, float(found.group(2)), journey, holdout_percent)
