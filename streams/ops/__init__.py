"""Operating a worker, framework-neutral: Prometheus metrics (:mod:`~streams.ops.metrics`,
:mod:`~streams.ops.labels`), health and readiness (:mod:`~streams.ops.health`), logs
(:mod:`~streams.ops.logs`: JSON lines, redaction), child processes of the tools
(:mod:`~streams.ops.processes`). Nothing here imports faust or the worker.
"""
