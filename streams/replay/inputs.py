"""Where replay, diff and the report get their events: a file or Kafka.

What to read is a :class:`~streams.replay.options.ReadSpec` (their options, resolved
once at the command line). Here: reading and decoding a file (JSON Lines of canonical or
Segment messages, or a Segment batch export); reading one customer's or a whole topic's
records.
Decoding goes through :func:`schemas.decode.decode_touchpoints`, as in the worker, and
every unreadable part becomes an ``Unreadable`` item (a dead-letter record), never an error.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import orjson
from pydantic import TypeAdapter, ValidationError

from schemas import codec
from schemas.deadletters import bounded
from schemas.decode import DEFAULT_MAX_FUTURE_SKEW, decode_touchpoints, named_identity
from schemas.erasure import ERASURE_REQUEST_KIND, ErasureRequest
from schemas.events import TouchpointEvent
from schemas.segment import SegmentTime
from schemas.topics import by_role, topic_specs
from streams.kafka.keys import key_text
from streams.kafka.reader import KafkaReader, KafkaReadError, KafkaRecord
from streams.replay.erasure import Erasure
from streams.replay.options import ReadSpec
from streams.replay.timeline import Arrival, Item, Tick, Unreadable

_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_time(text: str | None, now: datetime) -> datetime | None:
    """ISO-8601 (naive means UTC), ``now``, or a duration back from now: 90s, 15m, 12h, 7d, 2w."""
    if text is None:
        return None
    if text == "now":
        return now
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a time: {text!r} (ISO-8601, 'now', or 30m, 12h, 7d)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def engine_until(spec: ReadSpec, now: datetime) -> datetime | None:
    """Where engine time goes after the last event: None with ``--no-timers``."""
    if spec.no_timers:
        return None
    return parse_time(spec.advance_to or spec.until, now) or now


def _topic(spec: ReadSpec, role: str) -> str:
    """The name of the worker's topic of ``role`` under the spec's prefix."""
    return by_role(topic_specs(spec.topic_prefix))[role].name


Source = tuple[str, bool]  # (topic, keyed: canonical events written by the worker)


def sources(spec: ReadSpec) -> list[Source]:
    """The topics a Kafka replay reads: ``--topic``, else what the journey agent reads.

    By default, the touchpoints topic (what sources wrote, each customer's well-keyed
    messages on its partition) and the keyed topic (touchpoints that were keyed otherwise
    and re-keyed by the worker, and fan-out derived events), as the worker reads them.
    """
    if spec.topic:
        keyed = by_role(topic_specs("p"))["keyed"].name.removeprefix("p")
        return [(spec.topic, spec.topic.endswith(keyed))]
    return [(_topic(spec, r), keyed) for r, keyed in (("touchpoints", False), ("keyed", True))]


def readable_sources(spec: ReadSpec, reader: KafkaReader) -> list[Source]:
    """:func:`sources` that can be read: by default, the keyed topic only once a worker
    created it (before any worker ran, the collector's touchpoints are all there is);
    a missing ``--topic`` or touchpoints topic is an error (``KafkaReadError``)."""
    found = []
    for topic, keyed in sources(spec):
        if keyed and not spec.topic and not _exists(reader, topic):
            continue
        found.append((topic, keyed))
    return found


def _exists(reader: KafkaReader, topic: str) -> bool:
    try:
        reader.partitions(topic)
    except KafkaReadError:
        return False
    return True


def derives_fanout(read: Sequence[Source]) -> bool:
    """Whether replay must derive fan-out events itself, reading the sources ``read``
    (:func:`readable_sources`): not when the keyed topic is among them, where the worker
    already wrote them (any prefix: ``*.touchpoints-keyed.v1``); yes when it does not
    exist yet (no worker ran)."""
    return not any(keyed for _, keyed in read)


def topic_name(spec: ReadSpec) -> str:
    """The topics read, for messages (comma-separated)."""
    return ",".join(topic for topic, _ in sources(spec))


def decode_items(
    raw: bytes,
    origin: str,
    *,
    received_at: datetime,
    judged_at: datetime | None = None,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
) -> Iterator[Item]:
    """The events (and unreadable parts) of one message: canonical, Segment or batch;
    events later than ``max_future_skew`` past ``judged_at`` (default ``received_at``)
    rejected, as the worker rejects them (its ``JOURNEYS_MAX_FUTURE_SKEW_SECONDS``)."""
    decoded = decode_touchpoints(
        raw, received_at=received_at, max_future_skew=max_future_skew, judged_at=judged_at
    )
    for event in decoded.events:
        yield Arrival(event, origin)
    for rejection in decoded.rejections:
        index = rejection.item_index
        where = origin if index is None else f"{origin}#{index}"
        key = named_identity(raw, index)
        yield Unreadable(where, rejection.reason.value, rejection.message, raw, key)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# what a message says about when it was received, most telling first: its receive time;
# else its send time (Segment's clock-skew correction is then zero); else its event time
_STATED = ("receivedAt", "received_at", "sentAt", "originalTimestamp", "timestamp", "event_time")
# Segment's fields, read as Segment's adapter reads them: without offset as UTC, a number
# as Unix time (the canonical fields take ISO text with an offset only, as the model does)
_SEGMENT_FIELDS = frozenset(("receivedAt", "sentAt", "originalTimestamp", "timestamp"))
_SEGMENT_TIME: TypeAdapter[datetime] = TypeAdapter(SegmentTime)

UNTIMED = "untimed"
"""The reason of an :class:`Unreadable` item that is an untimed message: in a file that
states no time at all, a message whose event time would be its receive time, which
nothing gives. Not replayed (it would land at the Unix epoch, where yearly rules see
decades of anniversaries); replay shows it, the report counts it."""
UNTIMED_MESSAGE = (
    "neither the message nor any other in the file states a time (receivedAt, sentAt, "
    "timestamp, event_time...): its event time is unknown, not replayed"
)


def stated_time(raw: bytes) -> datetime | None:
    """When a file's message says it was received (:data:`_STATED`; a batch: its envelope,
    else its first item), or None."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    batch = obj.get("batch")
    candidates = [obj, *(batch[:1] if isinstance(batch, list) else [])]
    for candidate in candidates:
        if not isinstance(candidate, dict):
            continue
        for field in _STATED:
            moment = _time_of(field, candidate.get(field))
            if moment is not None:
                return moment
    return None


def _time_of(field: str, value: object) -> datetime | None:
    """``value`` as the decoder reads field ``field``, or None when it is no time."""
    if field in _SEGMENT_FIELDS and isinstance(value, str | int | float):
        try:
            return _SEGMENT_TIME.validate_python(value)
        except (ValidationError, OverflowError):
            return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo is not None else None
    return None


def file_messages(data: bytes, name: str) -> list[tuple[bytes, str]]:
    """``(message, origin)`` of a file of JSON Lines (canonical or Segment messages), or
    of one JSON document.

    A file that is a single JSON object (a Segment batch export, pretty-printed or not) is
    one message; a JSON array, one message per element; anything else, one per line,
    blank lines skipped (a bad line is a message that will be a dead letter).
    """
    stripped = data.strip()
    if stripped[:1] in (b"{", b"["):
        try:
            whole = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            whole = None
        if isinstance(whole, dict):
            return [(stripped, f"{name}:1")]
        if isinstance(whole, list):
            return [(orjson.dumps(e), f"{name}[{i}]") for i, e in enumerate(whole)]
    return [
        (line, f"{name}:{number}")
        for number, line in enumerate(data.splitlines(), start=1)
        if line.strip()
    ]


def decode_file(
    data: bytes,
    name: str,
    *,
    judged_at: datetime | None,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
) -> Iterator[Item]:
    """The items of a file (:func:`file_messages`), each message received at the time it
    states (:func:`stated_time`), else at the time the message before it was: as a
    broker stamps arrival, from the file alone, so that two replays of a file agree.
    Messages before the first that states a time take that one. Future skew is judged
    against ``judged_at`` (the replay's ``--until``, else now), as the worker judges it
    against the record time.

    A message that states a time (an event time alone is enough) is timed: a missing
    receive time is its own send or event time. In a file that states no time at all,
    a message that decodes to events is **untimed**: its event time would be the receive
    time nothing gives. Each of its events is an :class:`Unreadable` of reason
    :data:`UNTIMED` (shown by replay, counted by the report), not replayed; before, they
    were placed at the Unix epoch, silently.
    """
    messages = file_messages(data, name)
    stated = [stated_time(raw) for raw, _ in messages]
    first = next((t for t in stated if t is not None), None)
    current = EPOCH if first is None else first
    for (raw, origin), moment in zip(messages, stated, strict=True):
        current = moment or current
        erasure = erasure_item(raw, origin)
        if erasure is not None:  # a line that is an erasure request erases there
            yield erasure
            continue
        items = decode_items(
            raw, origin, received_at=current, judged_at=judged_at, max_future_skew=max_future_skew
        )
        yield from (items if first is not None else (_untimed(i, raw) for i in items))


def _untimed(item: Item, raw: bytes) -> Item:
    """An event of a message that states no time, in a file that states none: untimed
    (``raw``: the message as read, as for any unreadable input)."""
    if not isinstance(item, Arrival):
        return item
    return Unreadable(item.origin, UNTIMED, UNTIMED_MESSAGE, raw, item.event.key)


def erasure_item(raw: bytes, origin: str, *, known: bool = False) -> Item | None:
    """The erasure request ``raw`` holds (``known``: it can hold nothing else), or an
    unreadable item when it is not a valid one; None when it is no erasure request."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Unreadable(origin, "invalid_json", bounded(str(exc)), raw) if known else None
    if not known and not (isinstance(obj, dict) and obj.get("kind") == ERASURE_REQUEST_KIND):
        return None
    try:
        return Erasure(ErasureRequest.model_validate(obj), origin)
    except ValidationError as exc:
        return Unreadable(origin, "schema_violation", bounded(f"$: {exc}"), raw)


TopicRead = Callable[[KafkaReader, datetime | None, datetime | None], Iterable[Item]]
"""Reads the items of a Kafka input through the reader given: ``(reader, since, until)``."""


@dataclass(frozen=True, slots=True)
class Input:
    """What replay, diff and report read: the items, the time engine time goes to after
    the last event (:func:`engine_until`), and whether replay derives the fan-out events
    itself (:func:`derives_fanout`: always for a file)."""

    items: list[Item]
    until: datetime | None
    fanout: bool


def read_input(spec: ReadSpec, from_topics: TopicRead, *, judge_by_cutoff: bool = True) -> Input:
    """What replay, diff and report read: ``--file``, else ``from_topics`` (``--since``/
    ``--until``) through one :class:`KafkaReader`, which also tells whether the keyed
    topic is there. A file's future skew is judged against the engine's end time (a file
    often states no receive time), unless ``judge_by_cutoff`` is false (the report: it
    counts events past its cut-off itself, as such, and judges each event against its
    own receive time, as the worker does). ``ValueError``, ``OSError`` or
    ``KafkaReadError`` when it cannot."""
    now = utcnow()
    since = parse_time(spec.since, now)
    until = parse_time(spec.until, now)
    clock = engine_until(spec, now)
    if spec.file:
        judged_at = (clock or now) if judge_by_cutoff else None
        skew = spec.worker.max_future_skew
        items = read_file(spec.file, judged_at=judged_at, max_future_skew=skew)
        return Input(items, clock, fanout=True)
    with KafkaReader(spec.kafka_config, timeout_s=spec.timeout) as reader:
        items = list(from_topics(reader, since, until))
        return Input(items, clock, fanout=derives_fanout(readable_sources(spec, reader)))


def read_file(
    path: str, *, judged_at: datetime | None, max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW
) -> list[Item]:
    """Every item of the file (``-``: stdin); ``OSError`` with the path when unreadable."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise OSError(f"cannot read {path}: {exc.strerror or exc}") from exc
    name = Path(path).name
    return list(decode_file(data, name, judged_at=judged_at, max_future_skew=max_future_skew))


def linked_anonymous(items: Sequence[Item], customer: str) -> set[str]:
    """Anonymous ids that events of ``customer`` link to it."""
    return {
        i.event.anonymous_id
        for i in items
        if isinstance(i, Arrival) and i.event.customer_id == customer and i.event.anonymous_id
    }


def identity_keys(items: Sequence[Item], customer: str) -> set[str]:
    """``customer`` and every key linked with it in ``items``, directly or through a chain
    (anonymous ids it identified, a user id aliased to it or that it was aliased to):
    the keys whose steps belong in the customer's timeline."""
    partners: dict[str, set[str]] = {}
    for i in items:
        if isinstance(i, Arrival) and i.event.customer_id and i.event.anonymous_id:
            a, b = i.event.customer_id, i.event.anonymous_id
            partners.setdefault(a, set()).add(b)
            partners.setdefault(b, set()).add(a)
    found, todo = {customer}, [customer]
    while todo:
        for other in partners.get(todo.pop(), ()):
            if other not in found:
                found.add(other)
                todo.append(other)
    return found


MAX_LINKED_KEYS = 32  # keys read for one customer's replay from Kafka, itself included


def customer_items(
    spec: ReadSpec,
    reader: KafkaReader,
    customer: str,
    *,
    since: datetime | None,
    until: datetime | None,
) -> Iterator[Item]:
    """The customer's records from its partition of each source, then those of the keys
    linked to it (anonymous ids, aliased user ids, and theirs in turn), in Kafka
    timestamp order.

    Linked records (keyed by the linked key, so on another partition) are placed before
    the customer's records of the same timestamp; the worker merges their state when
    the linking event arrives and re-keys their later events to the customer, which
    ``Replayer`` mirrors.
    """
    own = list(_key_items(spec, reader, customer, since, until, rank=1, ticks=True))
    merged, found = list(own), {customer}
    todo = [(customer, own)]
    while todo:
        key, read = todo.pop(0)
        for anon in sorted(linked_anonymous([i for *_, items in read for i in items], key)):
            if anon in found or len(found) >= MAX_LINKED_KEYS:
                continue
            found.add(anon)
            entries = list(_key_items(spec, reader, anon, since, until, rank=0))
            merged += entries
            todo.append((anon, entries))
    for key in sorted(found):  # their erasure requests, after events of the same time
        merged += [(ts, 2, items) for ts, items in erasure_entries(spec, reader, key, since, until)]
    if len(found) > 1 or len(sources(spec)) > 1 or any(rank == 2 for _, rank, _ in merged):
        merged.sort(key=lambda entry: (entry[0], entry[1]))
    for _, _, items in merged:
        yield from items


def erasure_entries(
    spec: ReadSpec,
    reader: KafkaReader,
    key: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[tuple[int, list[Item]]]:
    """``(timestamp, [item])`` of the erasure requests (of ``key``, else all) on the
    worker's erasures topic; none when one ``--topic`` is read or the topic does not
    exist (a deployment older than erasures)."""
    if spec.topic:
        return []
    topic = _topic(spec, "erasures")
    try:
        reader.partitions(topic)
    except KafkaReadError:
        return []
    if key is None:
        records = reader.read_topic(topic, since=since, until=until)
    else:
        records = reader.read_key(topic, key, since=since, until=until)
    found = [(r.timestamp_ms, erasure_item(r.value or b"", r.origin, known=True)) for r in records]
    return [(ts, [item]) for ts, item in found if item is not None]


def _key_items(
    spec: ReadSpec,
    reader: KafkaReader,
    key: str,
    since: datetime | None,
    until: datetime | None,
    *,
    rank: int,
    ticks: bool = False,
) -> Iterator[tuple[int, int, list[Item]]]:
    """(timestamp, rank, items) of every record of ``key`` in each source; from a source
    topic, only the events whose identity is ``key`` (the others were re-keyed). With
    ``ticks``, every other key's event the worker processed on that partition is a
    :class:`Tick` (it moved the partition's time, and so woke ``key``'s timers)."""
    read = readable_sources(spec, reader)
    skew = spec.worker.max_future_skew
    for topic, keyed in read:
        bar = ProgressBar(f"scanning {topic} for {key}", enabled=spec.progress)
        wanted = key.encode()
        records = reader.read_key(topic, key, since=since, until=until, progress=bar, others=ticks)
        for record in records:
            items = record_items(record, keyed=keyed, max_future_skew=skew)
            if not keyed and len(read) > 1:  # one re-keyed elsewhere was not processed here
                record_key = key_text(record.key)
                items = [
                    i for i in items if not isinstance(i, Arrival) or i.event.key == record_key
                ]
            if record.key != wanted:
                items = [Tick(key, i.event) for i in items if isinstance(i, Arrival)]
            yield record.timestamp_ms, rank, items
        bar.close()


def record_items(
    record: KafkaRecord, *, keyed: bool, max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW
) -> list[Item]:
    """The items of one Kafka record.

    ``keyed``: a record of the keyed topic, read as the journey agent reads it (a
    canonical event written by our codec); else decoded like a raw touchpoint, with the
    record timestamp as the receive time, as the journey agent does.
    """
    raw = record.value or b""
    if keyed:
        try:
            return [Arrival(TouchpointEvent.model_validate(codec.loads(raw)), record.origin)]
        except (ValueError, ValidationError) as exc:  # orjson errors are ValueErrors
            message = bounded(f"$: {exc}")
            return [
                Unreadable(record.origin, "schema_violation", message, raw, key_text(record.key))
            ]
    received = datetime.fromtimestamp(record.timestamp_ms / 1000, tz=UTC)
    return list(
        decode_items(raw, record.origin, received_at=received, max_future_skew=max_future_skew)
    )


def topic_items(
    spec: ReadSpec, reader: KafkaReader, *, since: datetime | None, until: datetime | None
) -> Iterator[Item]:
    """Every item of each source topic, one topic after the other (from the touchpoints
    topic, when the keyed topic is read too, only events processed where they were read).
    When the erasures topic holds requests in the range, every item is placed in record
    time order instead, each erasure after the events of its time."""
    erasures = erasure_entries(spec, reader, None, since, until)
    timed = _timed_source_items(spec, reader, since, until)
    if erasures:
        entries = sorted([*timed, *erasures], key=lambda entry: entry[0])  # stable
        for _, items in entries:
            yield from items
    else:
        for _, items in timed:
            yield from items


def _timed_source_items(
    spec: ReadSpec, reader: KafkaReader, since: datetime | None, until: datetime | None
) -> Iterator[tuple[int, list[Item]]]:
    read = readable_sources(spec, reader)
    skew = spec.worker.max_future_skew
    for topic, keyed in read:
        bar = ProgressBar(f"scanning {topic}", enabled=spec.progress)
        for record in reader.read_topic(topic, since=since, until=until, progress=bar):
            items = record_items(record, keyed=keyed, max_future_skew=skew)
            if not keyed and len(read) > 1:  # the re-keyed are in the keyed topic
                key = key_text(record.key)
                items = [i for i in items if not isinstance(i, Arrival) or i.event.key == key]
            yield record.timestamp_ms, items
        bar.close()


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label: str, *, enabled: bool | None = None, stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self._drawn = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._drawn < 0.1 and done < total):
            return
        self._drawn, self._shown = now, True
        fraction = done / total if total else 1.0
        filled = int(fraction * 30)
        bar = "#" * filled + "-" * (30 - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total} {fraction:4.0%}")
        self.stream.flush()

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False
