"""``journeys demo``: a simulated population through a real worker on a local broker.

:mod:`~streams.demo.cli` (broker, topics, worker subprocess, summary),
:mod:`~streams.demo.session` (produce and follow the outputs), :mod:`~streams.demo.view`
(the live progress and the summary), :mod:`~streams.demo.lift` (the population, with a
known effect, and the closing measured lift).
"""
