"""``journeys collect``: Segment's HTTP tracking API in front of the touchpoints topic.

Web, mobile and server SDKs (analytics.js, segment-analytics-python, rudder-sdk-python
and their siblings) post to ``/v1/batch`` and friends; the collector answers 200 once the
broker has acknowledged every message of the request, so an SDK retries exactly what was
not stored.

One noun per module: :mod:`~streams.collector.messages` (a request body into single
Segment messages, Segment's limits), :mod:`~streams.collector.auth` (write keys),
:mod:`~streams.collector.routing` (the decoder decides: touchpoints or dead letters),
:mod:`~streams.collector.budget` (bytes in flight), :mod:`~streams.collector.producer`
(the idempotent Kafka producer), :mod:`~streams.collector.metrics`,
:mod:`~streams.collector.app` (the aiohttp application: one request, step by step) and
:mod:`~streams.collector.main` (the command, signals, the graceful stop). Nothing here
imports faust or the worker.
"""
