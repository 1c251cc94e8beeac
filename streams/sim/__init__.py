"""The traffic simulator: a seeded population of customer lives as touchpoint messages.

:mod:`~streams.sim.life` (one customer's life as raw events), :mod:`~streams.sim.names`
(the event names), :mod:`~streams.sim.population` (a population, or a flat benchmark
load, as messages), :mod:`~streams.sim.formats` (canonical or Segment JSON, and spoiled
messages), :mod:`~streams.sim.output` (to Kafka or JSON lines), :mod:`~streams.sim.cli`
(``journeys simulate``), :mod:`~streams.sim.effect` (a known effect of a journey on its
treated customers, to check what ``journeys report`` measures).

Realistic traffic (``journeys simulate --traffic realistic``; :func:`realistic` here):
:mod:`~streams.sim.traffic` (its knobs), :mod:`~streams.sim.client` (which device sends
what, under which ids), :mod:`~streams.sim.delivery` (batches, delays, retries),
:mod:`~streams.sim.sdk` (Segment messages as SDKs build them),
:mod:`~streams.sim.realistic` (the population in arrival order).
"""

from streams.sim.realistic import Arrival, realistic
from streams.sim.traffic import Realistic

__all__ = ["Arrival", "Realistic", "realistic"]
