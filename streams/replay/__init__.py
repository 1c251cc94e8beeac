"""Engineers' tools: replay one customer's journey, diff two definitions.

:mod:`~streams.replay.timeline` drives the engine over arrivals like the worker does
(:mod:`journeys.driver`), :mod:`~streams.replay.inputs` reads them from a file or the
keyed topic, :mod:`~streams.replay.cli` is ``journeys replay`` and
:mod:`~streams.replay.diff` is ``journeys diff``.
"""
