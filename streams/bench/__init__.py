"""``journeys bench``: the worker against a faust pass-through and a raw aiokafka loop.

:mod:`~streams.bench.cli` (the command and its report), :mod:`~streams.bench.run`
(start a system, load it, measure throughput and latency),
:mod:`~streams.bench.baselines` (the two baselines, run as subprocesses),
:mod:`~streams.bench.outputs` (offsets and outputs read back, percentiles, RSS).
"""
