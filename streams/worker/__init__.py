"""The stream worker: the faust app and everything that runs in production.

Read in this order: :mod:`~streams.worker.main` (``journeys worker``: settings, local
state, start and stop) and :mod:`~streams.worker.bounded_worker` (the process: faust's
worker with a deadline on the graceful stop), :mod:`~streams.worker.app` (the one
composition root: topics, tables, the :class:`~streams.worker.runtime.Runtime`, every
agent registered), :mod:`~streams.worker.runtime` (what agents share, typed; the engine
contract), :mod:`~streams.worker.journey_agent` (the agent: touchpoints in, state and
triggers out, timers inline), :mod:`~streams.worker.intake` (how an input message is
decoded: the key contract), :mod:`~streams.worker.links` (merges and fan-out between
customers), the stores of the tables: :mod:`~streams.worker.customers` (journey states,
their cache, the stage counts), :mod:`~streams.worker.link_store`,
:mod:`~streams.worker.fanout_store`, :mod:`~streams.worker.suppressions`;
:mod:`~streams.worker.outputs` (where agents write), :mod:`~streams.worker.due_index`
(due times and watermarks per partition) and :mod:`~streams.worker.timer_tick` (the
timer that wakes idle partitions' due customers), :mod:`~streams.worker.views` and
:mod:`~streams.worker.probes` (web views, readiness, lag, store size),
:mod:`~streams.worker.eos` (what exactly-once took on top of faust) and
:mod:`~streams.worker.local_state` (local stores after a crash).
"""
