"""Every Kafka client that is not the faust worker: topic creation (:mod:`~streams.kafka.admin`),
reading a topic by key or time (:mod:`~streams.kafka.reader`), following output topics
(:mod:`~streams.kafka.outputs`), a group's lag (:mod:`~streams.kafka.offsets`), the
default partitioner (:mod:`~streams.kafka.keys`), client arguments from Settings
(:mod:`~streams.kafka.config`), and why a connection fails, in one line
(:mod:`~streams.kafka.preflight`). Nothing here imports faust or the worker.
"""
