"""The traffic simulator: a seeded population of customer lives as touchpoint messages.

:mod:`~streams.sim.life` (one customer's life as raw events), :mod:`~streams.sim.names`
(the event names), :mod:`~streams.sim.population` (a population, or a flat benchmark
load, as messages), :mod:`~streams.sim.formats` (canonical or Segment JSON, and spoiled
messages), :mod:`~streams.sim.output` (to Kafka or JSON lines), :mod:`~streams.sim.cli`
(``journeys simulate``), :mod:`~streams.sim.effect` (a known effect of a journey on its
treated customers, to check what ``journeys report`` measures).
"""
