"""``journeys bench``: the worker against a faust pass-through and a raw aiokafka loop.

:mod:`~streams.bench.cli` (the command, its steps) and :mod:`~streams.bench.table` (the
printed report); :mod:`~streams.bench.run` (the systems, and one run of one: load,
throughput, latency, memory), :mod:`~streams.bench.system` (a system, its result, and
waiting for its group to join and to catch up), :mod:`~streams.bench.latency` (the
latency phase), :mod:`~streams.bench.drain` (the rate over the middle of the drain);
:mod:`~streams.bench.processes` (a system's processes, one or several of one group,
started and stopped together, their CPU sampled); :mod:`~streams.bench.baselines` (the
two baselines, run as subprocesses); :mod:`~streams.bench.outputs` (CPU time, waits for a
CPU, peak RSS, percentiles). Offsets and outputs are read back with
:mod:`streams.kafka.offsets` and :mod:`streams.kafka.outputs`.
"""
