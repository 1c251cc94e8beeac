"""``journeys erase CUSTOMER_ID``: ask the worker to erase a customer, and wait for it.

Sends one ``ErasureRequest`` (``schemas.erasure``) to the erasures topic, keyed by the
id, with an idempotent producer that waits for every replica (``acks=all``). With
``--wait`` it then reads the audit topic (``read_committed``, the id's partition, from
its end before the request was sent) until the worker's ``ErasureConfirmation`` of this
request is there, and prints it as JSON.

Exit codes: 0 sent (or, with ``--wait``, confirmed); 1 no confirmation within
``--timeout`` (the request stays on the topic: the worker erases when it gets to it);
2 an error (a bad argument, Kafka not reachable, the topics missing).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from pydantic import ValidationError

from schemas import codec
from schemas.erasure import ErasureConfirmation, ErasureRequest
from streams.kafka.config import client_config, default_topic
from streams.kafka.keys import partition_for
from streams.kafka.preflight import KafkaUnavailable, check
from streams.kafka.retry import retry
from streams.settings import ENV_PREFIX
from streams.subcommand import Subparsers, add_command

EXIT_DONE = 0
EXIT_TIMEOUT = 1
EXIT_ERROR = 2


class EraseError(Exception):
    """The request cannot be sent, or its confirmation not read: one line for the user."""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "erase",
        run,
        help="erase a customer everywhere the worker keeps them (right to be forgotten)",
        description=__doc__,
    )
    parser.add_argument("customer_id", metavar="CUSTOMER_ID", help="the id to erase")
    parser.add_argument("--reason", metavar="TEXT", help="why, for the audit (no personal data)")
    parser.add_argument("--request-id", metavar="ID", help="default: a new UUID")
    parser.add_argument(
        "--wait", action="store_true", help="wait for the worker's confirmation and print it"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="SECONDS",
        help="how long to wait for Kafka and for the confirmation (default 60)",
    )  # fmt: skip
    parser.add_argument(
        "--topic-prefix", metavar="PREFIX",
        help=f"the worker's topic prefix (default: {ENV_PREFIX}TOPIC_PREFIX, else journeys)",
    )  # fmt: skip
    parser.add_argument(
        "--bootstrap", metavar="SERVERS",
        help=f"host:port[,host:port] (default: {ENV_PREFIX}BOOTSTRAP_SERVERS)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        request = ErasureRequest(
            request_id=args.request_id or str(uuid.uuid4()),
            customer_id=args.customer_id,
            reason=args.reason,
            requested_at=datetime.now(UTC),
        )
    except ValidationError as exc:
        print(f"journeys erase: {exc.errors()[0]['msg']}", file=sys.stderr)
        return EXIT_ERROR
    topics = (
        default_topic("erasures", args.topic_prefix),
        default_topic("audit", args.topic_prefix),
    )
    try:
        found = erase(client_config(args.bootstrap), request, *topics, args.timeout, args.wait)
    except EraseError as exc:
        print(f"journeys erase: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if not args.wait:
        return EXIT_DONE
    if found is None:
        print(
            f"journeys erase: no confirmation of {request.request_id} within {args.timeout:g} s "
            "(the request is on the topic: the worker erases when it gets to it)",
            file=sys.stderr,
        )
        return EXIT_TIMEOUT
    sys.stdout.write(found.model_dump_json() + "\n")
    return EXIT_DONE


def erase(
    config: dict[str, Any],
    request: ErasureRequest,
    topic: str,
    audit: str,
    timeout_s: float,
    wait: bool,
) -> ErasureConfirmation | None:
    """Send ``request`` to ``topic``; with ``wait``, the confirmation read from ``audit``
    (None: not there within ``timeout_s``)."""
    key = request.customer_id
    deadline = time.monotonic() + timeout_s
    ms = max(int(timeout_s * 1000), 1000)
    try:
        check(config, timeout_s=timeout_s, retry=False)  # one line naming the cause
    except KafkaUnavailable as exc:
        raise EraseError(str(exc)) from exc
    try:
        consumer = KafkaConsumer(
            **config, group_id=None, enable_auto_commit=False,
            isolation_level="read_committed", bootstrap_timeout_ms=ms,
        )  # fmt: skip
    except KafkaError as exc:
        raise EraseError(f"cannot reach Kafka: {exc}") from exc
    try:
        known = consumer.topics()
        missing = [t for t in (topic, audit) if t not in known]
        if missing:  # never let the broker auto-create them with its own partition count
            raise EraseError(f"topic {missing[0]} does not exist (a worker creates it at start)")
        partitions = sorted(consumer.partitions_for_topic(audit) or ())
        tp = TopicPartition(audit, partitions[partition_for(key, len(partitions))])
        consumer.assign([tp])
        start = retry(lambda: consumer.end_offsets([tp]), deadline_s=timeout_s)[tp]
        _send(config, topic, key, request, ms)
        print(f"journeys erase: request {request.request_id} for {key} sent to {topic}",
              file=sys.stderr)  # fmt: skip
        if not wait:
            return None
        consumer.seek(tp, start)
        return _confirmation(consumer, request.request_id, deadline)
    except KafkaError as exc:
        raise EraseError(f"Kafka: {exc}") from exc
    finally:
        consumer.close()


def _send(config: dict[str, Any], topic: str, key: str, request: ErasureRequest, ms: int) -> None:
    producer = KafkaProducer(
        **config, acks="all", enable_idempotence=True, bootstrap_timeout_ms=ms, max_block_ms=ms,
    )  # fmt: skip
    try:
        producer.send(topic, key=key.encode(), value=codec.dumps(request)).get(ms / 1000)
    finally:
        producer.close(timeout=5)


def _confirmation(consumer: Any, request_id: str, deadline: float) -> ErasureConfirmation | None:
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                try:
                    found = ErasureConfirmation.model_validate_json(record.value)
                except ValidationError:
                    continue
                if found.request_id == request_id:
                    return found
    return None
