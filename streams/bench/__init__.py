"""``journeys bench``: the worker against a faust pass-through and a raw aiokafka loop.

:mod:`~streams.bench.cli` (the command and its report), :mod:`~streams.bench.run`
(start a system, load it, measure throughput and latency),
:mod:`~streams.bench.processes` (a system's processes, one or several of one group,
started and stopped together, their CPU sampled), :mod:`~streams.bench.baselines` (the
two baselines, run as subprocesses), :mod:`~streams.bench.outputs` (CPU time, peak RSS,
percentiles); offsets and outputs are read back with :mod:`streams.kafka.offsets` and
:mod:`streams.kafka.outputs`.
"""
