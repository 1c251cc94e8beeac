"""The faust, mode, aiokafka (and prometheus_client) code that ``streams`` overrides,
copies or reaches into by private name, pinned by a fingerprint of its source.

Each :class:`Pin` names one upstream function (or class attribute), the sha256 of its
source (``inspect.getsource``, dedented) as of the versions in :data:`TAKEN_FROM`, and
what our override does about it. When an upgrade changes any of them, the test fails
listing every changed one with that text: re-check exactly those overrides against the
new upstream code, then update the fingerprints (the failure prints the new ones).

A second test keeps the table complete. It scans every module of the ``streams``
package (the AST, not a list): every ``x._name`` read on something not ours (not
``self``, not a module such as ``os``), every ``getattr``/``hasattr``/``setattr`` of a
private name, every private method a class overrides from a faust, mode or aiokafka base,
every private attribute such a class reads through ``self`` without setting it itself,
and every name on a line marked ``# noqa: SLF001``: each must be named by a pin (or be
one of :data:`NOT_UPSTREAM`, with the reason). A third keeps each access visible where
it is: the line (or one of the two above it) says ``# noqa: SLF001`` or ``private:``.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import re
import textwrap
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import streams

TAKEN_FROM = {
    "faust-streaming": "0.15.3",
    "mode-streaming": "0.7.1",
    "aiokafka": "0.14.0",
    "prometheus-client": "0.26.0",
}

PACKAGE = Path(streams.__file__).parent
UPSTREAM = ("faust", "mode", "aiokafka", "prometheus_client")

TM = "faust.transport.consumer:TransactionManager"
CONSUMER = "faust.transport.consumer:Consumer"
DRIVER = "faust.transport.drivers.aiokafka"
RECOVERY = "faust.tables.recovery:Recovery"
ROCKSDB = "faust.stores.rocksdb:Store"
COLLECTION = "faust.tables.base:Collection"


@dataclass(frozen=True)
class Pin:
    target: str  # "module:Class.attribute"
    sha256: str
    ours: str  # where our code depends on it, and what it does about it
    names: tuple[str, ...] = ()  # private names our code uses that this code defines


PINS: tuple[Pin, ...] = (
    # -- transactions.py: SourceTransactionManager
    Pin(
        f"{TM}.send",
        "bc6cc96b66650a3a5b48b14f1fbd4c14f5c969acd40d306a39495403a633dc32",
        "transactions.py SourceTransactionManager.send replaces it: a send joins the source "
        "partition's transaction, not the destination's (finding 1). Check whether faust "
        "now routes by source partition or still raises KeyError for unconsumed topics.",
    ),
    Pin(
        f"{TM}.commit",
        "fd7680d22034322769253aac2994844706eeb847ada2a94497d43d846d08ba34",
        "transactions.py SourceTransactionManager.commit replaces it (no super call): our "
        "steps 4-7 redo its grouping by transactional id and its ProducerFenced -> crash. "
        "Check the transactional id format, the error handling and the return value.",
    ),
    Pin(
        f"{TM}.on_rebalance",
        "ec6abaaacd36e331beee9331b16b9bb425ef0e8d8bdc7a89e7933076578753a2",
        "transactions.py SourceTransactionManager.on_rebalance stops every producer not "
        "active here, then calls it with revoked=set() to start the active ones (finding "
        "7). Check that it still starts producers of `assigned` only.",
    ),
    Pin(
        f"{TM}._tps_to_transactional_ids",
        "2d2643a9603e39dc11a70c76cc04a3420f9e0081e3364f2503edbfcb35755ce5",
        "SourceTransactionManager.on_rebalance calls it for the active transactional ids.",
        ("_tps_to_transactional_ids",),
    ),
    Pin(
        f"{TM}._tps_to_active_tpgs",
        "7919d1e2c5e36e4ba70b2b9bb18f6be02d5b13e5eaa873bfcc25053221977e22",
        "Leaves standby partitions out: why faust kept fenced producers (finding 7) and "
        "why on_rebalance's `active` excludes standbys. If faust stops doing so, re-check.",
    ),
    Pin(
        f"{TM}.transactional_id_format",
        "7e05a292fb948617397dbb28afb3dba3860f73a2584064f37a61e207731f32e6",
        "SourceTransactionManager._transaction_of builds the same id "
        "(`{app id}-{group}-{partition}`); it must match the producers faust starts.",
    ),
    Pin(
        f"{CONSUMER}.commit",
        "e43a7d03685f9206b88ae7fec5cfc1ce77867ad84a8979840718a4e819d15ec7",
        "consumer.py StableOffsetConsumer.commit refuses it after Guard.fail, else calls "
        "it: every commit, periodic or at shutdown, at-least-once included, must go "
        "through it.",
    ),
    Pin(
        "faust.streams:Stream.take_events",
        "3eabc46f38f44665f843071595cf07667c92fcd275278163976595710f32c429",
        "Acks a batch's events when the agent leaves the batch, by an exception too: why "
        "StableOffsetConsumer.commit refuses after a failed batch. If it stops acking on "
        "an exception, the refusal is still right, merely redundant.",
    ),
    Pin(
        f"{CONSUMER}._commit_tps",
        "b83d551c327870109f59bb6b1793e3a4dba31c205155a76f4ae3716355341e91",
        "Reads the acked offsets before TransactionManager.commit runs (finding 10); our "
        "commit ignores them and commits Guard's, read under the lock.",
    ),
    Pin(
        f"{CONSUMER}._commit_offsets",
        "86b3e9b0aec773ac0923dd4409d8ff220781c0017cc356258331792009c903a8",
        "Calls transactions.commit only when faust has committable offsets, then "
        "tables.on_commit with its own offsets. Our commit relies on being called after "
        "Guard.finish acked the events.",
    ),
    Pin(
        f"{DRIVER}:Producer.commit_transactions",
        "cf922e8ea25a31606e872df9e9d89b622ee311d7fe50d23c2a7e64ac9ab01317",
        "Copied, per transaction, into SourceTransactionManager._commit_one (commit step 5: "
        "send offsets, commit, begin the next, under the producer's lock), run "
        "concurrently over the transactions. Port any change.",
    ),
    Pin(
        f"{DRIVER}:Producer.begin_transaction",
        "b36f53234d65bb8fd7bf213528eccbc5a362af2bc935ddb01b75046062ed528e",
        "Creates the per-transaction producer and lock that SourceTransactionManager looks "
        "up by private name (_tid, on_rebalance, _commit_one).",
        ("_transaction_producers", "_trn_locks"),
    ),
    Pin(
        f"{DRIVER}:Producer.stop_transaction",
        "51cc0551296eb8ee3351ee97b82844f22f4e4a126b98514fd82b9918a33ff8e5",
        "SourceTransactionManager.on_rebalance relies on it popping the producer from "
        "_transaction_producers and stopping it, without commit.",
    ),
    Pin(
        f"{DRIVER}:Producer.send",
        "72f84e7a1b56328e22845c7d27e1cdaf467ec86bb8634c4b2ea692aaae496d27",
        "SourceTransactionManager.send passes a transactional id only when its producer "
        "exists (faust raises ProducerSendError otherwise) and relies on its lock per id.",
    ),
    # -- consumer.py: StableOffsetConsumer
    Pin(
        f"{DRIVER}:AIOKafkaConsumerThread._highwaters",
        "829699ec62b7ec5be2a48b2de20bf6d8dab271b49ea97a58422a15b74468101e",
        "consumer.py StableOffsetConsumerThread._highwaters replaces it: end_offsets "
        "(ListOffsets, read_committed) instead of last_stable_offset, None before the first "
        "fetch (finding 6). Check whether faust fixed it.",
        ("_highwaters",),
    ),
    Pin(
        f"{DRIVER}:AIOKafkaConsumerThread._ensure_consumer",
        "a2c77687801ca0e75ed06bb909e3e8ab73411ceded4dde320aaf9b3444e089ab",
        "StableOffsetConsumerThread._highwaters gets the aiokafka consumer from it.",
        ("_ensure_consumer",),
    ),
    Pin(
        f"{DRIVER}:Consumer._new_consumer_thread",
        "8fd0d41b15145615ef63e559b5dbd062f527d9f4800842b07d8b30d81372eedc",
        "consumer.py StableOffsetConsumer._new_consumer_thread replaces it to create "
        "StableOffsetConsumerThread; keep the same constructor arguments.",
        ("_new_consumer_thread",),
    ),
    Pin(
        f"{CONSUMER}._drain_messages",
        "8f35dd7a11144daa6ec9a3739a497b03a9dd6b57cca18aa861bb4a549400fc68",
        "Delivers each fetched record with wait_first(callback(message), "
        "suspend_flow.wait()), its only wait_first: StableOffsetConsumer.wait_first runs "
        "that delivery's first step eagerly (streams/worker/eager.py) when the flow runs. "
        "If the call's shape or its events change, re-check that override.",
    ),
    Pin(
        "prometheus_client.metrics:Histogram.observe",
        "52035657b2f80490fa51d43072ef85c31c1ff40b4c88301143322995a5a2c7af",
        "streams.ops.metrics.observe_all writes a batch's observations of a histogram as "
        "this does one by one: the sum value by value, each bucket found by the first upper "
        "bound >= the value (bisect_left), NaN in none. If observe changes, re-check it.",
        ("_upper_bounds", "_buckets", "_sum"),
    ),
    Pin(
        "mode.services:Service.wait_first",
        "3ed3b8c32e14dec3b29b3e8a99646855499158e23a779331afdbf198ef7247e5",
        "StableOffsetConsumer.wait_first returns what it would for a delivery that "
        "finishes at once while the service's stopped and crashed events are clear, and "
        "calls it otherwise.",
        ("_stopped", "_crashed"),
    ),
    Pin(
        "faust.tables.recovery:Recovery._build_highwaters",
        "32d70220d2a8a96fe325b995dc3a2eff4460a84fe1d347953d4d7fad81a50775",
        "Turns a missing changelog end into -1 (finding 6): what StableOffsetConsumerThread "
        "avoids by asking the broker.",
    ),
    Pin(
        "faust.transport.base:Transport.create_consumer",
        "9eb4f22bbf3f8dc144d8453e2213c2b98c8e7c5731bde1b717287b67bb65d581",
        "eos.install sets the transport's Consumer class; this must still instantiate it.",
    ),
    Pin(
        "faust.transport.base:Transport.create_transaction_manager",
        "c5c95929ad2f2da996265b3d70ffbe51c1a31ec56d28e3083fbb8d249a8de7b1",
        "eos.install sets the transport's TransactionManager class; this must still "
        "instantiate it.",
    ),
    # -- tables.py: TrackedTable
    Pin(
        f"{COLLECTION}._serializer_from_type",
        "aae2f2d9f0c31a4eebfc0af638099b9c0885f8a6e441235688f427f5811384b8",
        "tables.py TrackedTable._serializer_from_type answers 'raw' for str keys, so the "
        "router hashes the keyed topic's key (finding 8); other types go to it.",
        ("_serializer_from_type",),
    ),
    Pin(
        f"{COLLECTION}.send_changelog",
        "78a5e11370efe43a778ec66489b1066392d5fc2c8349faf6861fe475c608075f",
        "TrackedTable.send_changelog hands the record to the batched output (produce.py) "
        "or calls it and tracks the future in Guard (finding 2); every changelog write "
        "must still go through it, and its serializer arguments must keep their meaning.",
    ),
    Pin(
        f"{COLLECTION}._on_changelog_sent",
        "146c7ea5c7530a94ff7c6a74d8c72a671f2ac325fdbd98cbceeee130125a36ae",
        "TrackedTable._persisted does what it does for a batched changelog record "
        "(persist_offset_on_commit under exactly-once, else set_persisted_offset): if it "
        "changes, copy the change.",
    ),
    Pin(
        f"{DRIVER}:Producer._ensure_producer",
        "04016bd22147281a42b5cbefd9b73e35544ae7528418a221b72cc13e93224d13",
        "produce.py BatchedOutput sends a batch outside a transaction through the aiokafka "
        "producer it returns.",
        ("_ensure_producer",),
    ),
    Pin(
        "aiokafka.producer.producer:AIOKafkaProducer.send_batch",
        "ff8d65b595170b0e849316913c5c852b49278d292d13fafcd73039271eccfdf2",
        "produce.py BatchedOutput: a record batch must join the producer's transaction "
        "(the accumulator's add_batch adds the partition to it) like a single send.",
    ),
    Pin(
        "aiokafka.producer.producer:AIOKafkaProducer.create_batch",
        "86ae801b347c9d62c45c11e1fc4d1617de144967a9d7388fb5921e346fa577e3",
        "produce.py BatchedOutput builds each partition's batch with it.",
    ),
    Pin(
        f"{COLLECTION}.on_rebalance",
        "5d760812d911ece12be2a04cf6ab910a6afc7ed0ca707927c5775a00a37ae99c",
        "TrackedTable.on_rebalance drops revoked local partitions before calling it (finding 9).",
    ),
    Pin(
        f"{ROCKSDB}.__init__",
        "9301bd0db468d97bbf5d1473404af62eb0c07e39e23a041a569a7fe5f63aa283",
        "Defines _dbs (open DB per partition) and _key_index (key -> partition cache) that "
        "tables.drop_local_partitions closes and clears.",
        ("_dbs", "_key_index"),
    ),
    Pin(
        f"{ROCKSDB}.partition_path",
        "673c6bada85aab33cac98a4847ce33e7baa30e82b6b21ee0632a30b83bbc6165",
        "drop_local_partitions deletes the directory it names.",
    ),
    Pin(
        f"{ROCKSDB}._db_for_partition",
        "abc425297c7542f04b97f8bc78bc90367523d122327fa7530de55a70c597ba37",
        "Reopens a dropped partition from _dbs on the next write: what makes dropping "
        "safe while the table runs.",
    ),
    Pin(
        f"{ROCKSDB}.revoke_partitions",
        "0df43a0757fb9404ce85a6e8007d95cb304ca0d740c3a6af11cb3ee9231dd462",
        "faust's own revoke: forgets the DB (without closing it) and keeps the files; "
        "drop_local_partitions deletes them (finding 9). If faust starts wiping, re-check.",
    ),
    # -- store.py: CommittedStore (written on commit), BudgetedOptions
    Pin(
        f"{COLLECTION}._new_store_by_url",
        "28b01ee9bcc6a6e2aabd216c0c2c5c0ede75b29adef5ca74c47e9ad160dccdca",
        "TrackedTable._new_store_by_url makes a CommittedStore for rocksdb:// with the same "
        "arguments; pass any new one on.",
        ("_new_store_by_url",),
    ),
    Pin(
        f"{ROCKSDB}._set",
        "40e273d6ef07db1e7a19f5546d8d0e4864834e3d5165c721f53c4f7a930b668d",
        "CommittedStore._set keeps the write (and the key -> partition index) in the "
        "uncommitted overlay under exactly-once, else calls it. Copy any new bookkeeping.",
        ("_set",),
    ),
    Pin(
        f"{ROCKSDB}._del",
        "2bb45852bef57237f19f234394a3e4a2728fc077316d5e8818dec3ff1f0393cb",
        "CommittedStore._del records a delete in the overlay under exactly-once.",
        ("_del",),
    ),
    Pin(
        f"{ROCKSDB}._get",
        "87e3ce60eaba3171c984eb133ca3e07e5f4667b3f2c78f39365bc2927123b9ba",
        "CommittedStore._get answers from the overlay first, then calls it.",
        ("_get",),
    ),
    Pin(
        f"{ROCKSDB}._contains",
        "ae4328a38e9d8f502b5e759e85b82f1c1a5810d8c1fbded6a6b3e039a009d64a",
        "CommittedStore._contains answers from the overlay first, then calls it.",
        ("_contains",),
    ),
    Pin(
        f"{ROCKSDB}._iteritems",
        "209b95bbde6ba9820f5ba9ccc824b1bef29ba842116ce9c3f9d9635c85d5d684",
        "CommittedStore._iteritems replaces it (active partitions, overlay merged); "
        "_iterkeys and _itervalues read it.",
        ("_iteritems",),
    ),
    Pin(
        f"{ROCKSDB}._iterkeys",
        "2dd04251f2a43babcc9936bee190a08f6fa68598057a7ddfe4ac52a900eaa863",
        "CommittedStore._iterkeys replaces it (from _iteritems).",
        ("_iterkeys",),
    ),
    Pin(
        f"{ROCKSDB}._itervalues",
        "f749c795ec8645531c4bee4dc3b507cea3a1ad13989fabd489bacce2724efa39",
        "CommittedStore._itervalues replaces it (from _iteritems).",
        ("_itervalues",),
    ),
    Pin(
        f"{ROCKSDB}._visible_items",
        "82079311f429fe18c1c8c07c5628ac8176381338bd8cadf1279e532e3530d81c",
        "CommittedStore._iteritems reads a DB's items through it (the offset key left out).",
        ("_visible_items",),
    ),
    Pin(
        f"{ROCKSDB}.apply_changelog_batch",
        "67ac93a2bea2a48895059dd4bc377a1e60d0436055bf1011d75319912e1bdab8",
        "Recovery writes committed changelog records with it, straight to RocksDB, and "
        "records the offset: the same key and format CommittedStore.commit_partition uses. "
        "CommittedStore.apply_changelog_batch calls it, then records the newest record's "
        "time (the store's age): check it still writes before it returns.",
    ),
    Pin(
        f"{ROCKSDB}._open_for_partition",
        "21bf6863c5a9af56cadde25ce0359901b3a05b0ff99431462aa930ddafb917dd",
        "CommittedStore._open_for_partition calls it, then discards a store older than the "
        "changelog's tombstone retention (closes the DB, deletes its directory) and calls "
        "it again: check it still opens partition_path(partition) and nothing else.",
        ("_open_for_partition",),
    ),
    Pin(
        f"{ROCKSDB}.persisted_offset",
        "6b4b2940005c3736356c1b99e73a53230b09a6dc01a8a083baee5a86ec6338c8",
        "Recovery reads an active partition from this offset + 1: the offset "
        "CommittedStore.commit_partition writes with the partition's committed writes.",
    ),
    Pin(
        "faust.stores.rocksdb:RocksDBOptions.as_options",
        "844b0de36bc6019822f73ae5871efc0aeeb7ccef8d2461075eae5cae9bea6b04",
        "BudgetedOptions.as_options calls it, then replaces the table factory (the shared "
        "cache) and adds the write buffer manager.",
    ),
    # -- recovery.py: SeekFirstRecovery, SeekFirstTableManager
    Pin(
        f"{RECOVERY}._resume_streams",
        "fbe0f747b84c0b2743bc83626a6836c0b1ffc3b1e3b3ac0073eb13552fd44c75",
        "recovery.py SeekFirstRecovery._resume_streams replaces it: same steps, the seek "
        "before the resume (finding 11). Port any other change into _seek_then_resume.",
        ("_resume_streams",),
    ),
    Pin(
        f"{RECOVERY}.on_recovery_completed",
        "895e7c415a4d137997ea0e6c04f0c180d3c783cd6ef18a977a14338ca1073b59",
        "recovery.py SeekFirstRecovery.on_recovery_completed replaces it: same steps, the "
        "seek before the resume (finding 11). Port any other change.",
    ),
    Pin(
        f"{RECOVERY}._seek_offsets",
        "d76d5a8f46fa2401286fef67ffe34902659dc5538bdd72c2e7b2c5c4e91e271d",
        "SeekFirstRecovery._seek_offsets bulk-restores the active partitions (restore.py) "
        "from the offsets given, sets them to the offsets reached, then calls it: it must "
        "still seek to offsets[tp] and read nothing itself.",
    ),
    Pin(
        f"{RECOVERY}._restart_recovery.fun",  # a mode ServiceTask: its function
        "f93138b040ef1bc2419e521ecb9836023c7b66138759951fc0cbb29916b1cc06",
        "SeekFirstRecovery._seek_offsets relies on its order for the actives: highwaters, "
        "then persisted offsets, then the seek, then need_recovery() on the offsets the "
        "seek left; and on each step being bounded by broker_request_timeout through _wait "
        "(an overrun stops the recovery service: restore.py stops at BULK_SHARE of it).",
    ),
    Pin(
        f"{DRIVER}:AIOKafkaConsumerThread.verify_event_path",
        "3f5576be114149b0fd0d20d7aa5478d807177aad9e1cef05b9b12baf58913a87",
        "consumer.py StableOffsetConsumerThread.verify_event_path calls it only once a "
        "partition could be processed for stream_processing_timeout (tp_stream_timeout_secs): "
        "faust times 'Stream has not started processing' from the worker's start.",
    ),
    Pin(
        f"{RECOVERY}._wait",
        "768af810dce805862369d83409131882acdf25e80b15aaa1e0157ac753e6a4b7",
        "SeekFirstRecovery._seek_then_resume waits for the seek with it (stops on a new "
        "rebalance).",
        ("_wait",),
    ),
    Pin(
        f"{RECOVERY}._is_changelog_tp",
        "b3b24c70db0cec9721846dded2b4901a169519721754f561aec68ba983000eaa",
        "SeekFirstRecovery._seek_then_resume resumes only non-changelog partitions.",
        ("_is_changelog_tp",),
    ),
    Pin(
        f"{RECOVERY}._set_recovery_ended",
        "7ac139109d4e9fa3dd723468dd4173ea37b8fbf54b51ee8070b92ac6f068f66f",
        "SeekFirstRecovery.on_recovery_completed calls it, as faust's does; it sets "
        "_recovery_ended_at, which StableOffsetConsumerThread.verify_event_path reads.",
        ("_set_recovery_ended", "_recovery_ended_at"),
    ),
    Pin(
        "faust.tables.manager:TableManager.recovery",
        "9e5e10447444e1dfc5682dde497b598ebf565708ff09cdfca408e1369280dd3e",
        "recovery.py SeekFirstTableManager.recovery replaces it to create "
        "SeekFirstRecovery in the same private slot.",
        ("_recovery",),
    ),
    Pin(
        "faust.app.base:App._fetcher",
        "88ea087e4fdde88dd06cf0a69ff15e19e41e12d577cd7b4361e7448f681ad764",
        "SeekFirstRecovery._seek_then_resume starts the fetcher, as faust's recovery does.",
        ("_fetcher",),
    ),
    # -- current.py: acting for one event of a batch
    Pin(
        "faust.streams:current_event",
        "3b821f1a78d86a58234dfe781fbf539775b00e66fdac9489c1c398a2d81d7e9d",
        "current.py acting_for sets the context variable this reads (a weak reference to "
        "the event), as the stream's own iteration does; tables and "
        "SourceTransactionManager.send read it. Check that it still reads _current_event.",
        ("_current_event",),
    ),
    Pin(
        "faust.streams:Stream._set_current_event",
        "943456784807465159d37bdd70a8dfb946d25b204b552ff003650060922de069",
        "How faust itself sets the current event; current.py acting_for does the same for "
        "the events of a take_events batch.",
    ),
    # -- aiokafka, what step 5 and the changelog end rely on
    Pin(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.end_offsets",
        "71aa26a0e9aebd63f662fb60dbc6219f9ee4be2164ed35fd6478cef76bc3b434",
        "StableOffsetConsumerThread._highwaters: must answer the last stable offset under "
        "read_committed (the consumer's isolation level).",
    ),
    Pin(
        "aiokafka.producer.producer:AIOKafkaProducer.send_offsets_to_transaction",
        "8053778fb7d22f4777cc824d476a393b059e178aba7fb976687260750de56b72",
        "Commit step 5, run concurrently on different producers (each has its own client "
        "and transaction manager).",
    ),
    Pin(
        "aiokafka.producer.producer:AIOKafkaProducer.commit_transaction",
        "8f568a6acef9446b194df12067fd48c5c41ac69e621d98de6f4dc2c08fd777ee",
        "Commit step 5, run concurrently on different producers.",
    ),
    Pin(
        "aiokafka.producer.producer:AIOKafkaProducer.begin_transaction",
        "9834b9f64d8a3515aee18ae9e964299f00ab03875d574e294a6d5891208d1f16",
        "Commit step 5 begins the next transaction with it.",
    ),
    # -- streams/worker/bounded_worker.py: BoundedWorker
    Pin(
        "faust.worker:Worker._on_sigterm",
        "48041972863146502733b75eb7ff7b155685263f9c5ec77795704aa06cf6eecd",
        "BoundedWorker._on_sigterm arms the stop deadline, then calls it (the graceful stop).",
    ),
    Pin(
        "faust.worker:Worker._on_sigint",
        "5d4bc60aebe7548b4b14c0a05a56d8c299d5659181a6d7df6c24e9bb48a926a1",
        "BoundedWorker._on_sigint arms the stop deadline, then calls it.",
    ),
    Pin(
        "mode.worker:Worker._install_signal_handlers_unix",
        "2698bb3e27e91352d66b954c02fae8f2a8894e099178a2aa543e98c7585ac5e6",
        "Installs _on_sigterm/_on_sigint as the loop's signal handlers: what makes "
        "BoundedWorker's overrides run on SIGTERM and SIGINT.",
        ("_install_signal_handlers_unix",),
    ),
    Pin(
        "faust.worker:Worker.__init__",
        "4cb5c59364a6d3bd962a95871b0d257176fa897180f0b02d2828cb0874ddb360",
        "Creates the terminal spinner, which BoundedWorker.__init__ turns off after it "
        "(spinner = None, as faust's _disable_spinner_if_level_below_WARN does); if faust "
        "creates it later, the spinner would be back (DEBUG root logger, ~8% of the loop).",
    ),
    # -- streams/worker/faust_codec.py: JsonCodec
    Pin(
        "faust.serializers.codecs:Codec.dumps",
        "94894c9ee10be0a85459275218c66554cebf0035b549dc17564579c680b7385d",
        "JsonCodec overrides _dumps, faust's documented extension point; this must still call it.",
        ("_dumps",),
    ),
    Pin(
        "faust.serializers.codecs:Codec.loads",
        "ad22f5d43bf2b2f0301d4c4e70c3276b47bee525a82aa47205a237297629bdd1",
        "JsonCodec overrides _loads, faust's documented extension point; this must still call it.",
        ("_loads",),
    ),
    # -- streams/worker/probes.py: consumer lag from faust's aiokafka consumer
    Pin(
        "faust.transport.consumer:ThreadDelegateConsumer.__init__",
        "eb97deeb86ee468554926e3d3930660593d9da85e58edb1a09c063863a711cfa",
        "probes.faust_lag_source reads the consumer thread it sets in _thread.",
        ("_thread",),
    ),
    Pin(
        f"{DRIVER}:AIOKafkaConsumerThread.on_start",
        "675d03707bbecd3cd50b99218eb612c3d1804cee79ebb8edff2e1689d8cea0ca",
        "probes.faust_lag_source reads the aiokafka consumer it sets in _consumer "
        "(None before the start: no lag).",
        ("_consumer",),
    ),
    Pin(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.__init__",
        "bda88cd619881d724ffc20d149e276a5dd905cdb59e95635ada83b39ae3ca0b6",
        "Sets _subscription (probes.faust_lag_source reads each partition's position and "
        "end from it) and _client (streams/kafka/reader.py KafkaReader.partitions reads "
        "topic metadata from it).",
        ("_subscription", "_client"),
    ),
    Pin(
        "aiokafka.consumer.subscription_state:SubscriptionState.subscription",
        "45a9c2444718b714da70a86dc743f0480ed39499f38e821b8ec23b9fd6f8e059",
        "probes.faust_lag_source: _subscription.subscription.assignment.",
    ),
    Pin(
        "aiokafka.consumer.subscription_state:Subscription.assignment",
        "11b8f3346a8737c2e0fc3191a78eb2f5b65303573a84e1624f979a3f9f402751",
        "probes.faust_lag_source: _subscription.subscription.assignment.",
    ),
    Pin(
        "aiokafka.consumer.subscription_state:Assignment.state_value",
        "fd255204271deaedf5b232dbe397f10c38664091b7fbc30ca866408b872ad2bb",
        "probes.faust_lag_source reads each assigned partition's state with it.",
    ),
    Pin(
        "aiokafka.consumer.subscription_state:TopicPartitionState",
        "2b83334afadf6d980ca41a0c4577dee6e1bbbc46fca677123b1b39b893c50da8",
        "probes.faust_lag_source reads lso, highwater, has_valid_position and position: "
        "lag = end (lso under read_committed, else highwater) - position.",
    ),
    # -- streams/kafka/reader.py: the topic's partitions from the consumer's client
    Pin(
        "aiokafka.client:AIOKafkaClient.fetch_all_metadata",
        "fae96f64b07cc498096f5eb42c74085edf6a9d51e0daf567684c949cdbe23544",
        "KafkaReader.partitions calls it on the consumer's _client.",
    ),
)


def resolve(target: str) -> Any:
    """The function (or class attribute) ``target`` names, without running descriptors."""
    module_name, _, qualname = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = inspect.getattr_static(obj, part)
    if isinstance(obj, property):
        return obj.fget
    # functools.cached_property keeps the function as ``func``, mode's as a private name
    for name in ("func", "_cached_property__get"):
        if callable(getattr(obj, name, None)):
            return getattr(obj, name)
    return obj


def fingerprint(target: str) -> str:
    obj = resolve(target)
    if isinstance(obj, str | int | float | tuple):  # a plain class attribute: its value
        text = repr(obj)
    else:
        text = textwrap.dedent(inspect.getsource(obj))
    return hashlib.sha256(text.encode()).hexdigest()


def changed(pins: tuple[Pin, ...] = PINS) -> list[tuple[Pin, str]]:
    out = []
    for pin in pins:
        try:
            now = fingerprint(pin.target)
        except (AttributeError, ImportError, OSError, TypeError) as exc:
            now = f"gone ({exc!r})"
        if now != pin.sha256:
            out.append((pin, now))
    return out


def test_the_upstream_code_our_overrides_depend_on_is_unchanged() -> None:
    found = changed()
    if found:
        lines = [
            f"{len(found)} upstream function(s) that streams depends on changed.",
            "Fingerprints taken from "
            + ", ".join(f"{dist} {v}" for dist, v in TAKEN_FROM.items())
            + "; installed: "
            + ", ".join(f"{dist} {version(dist)}" for dist in TAKEN_FROM)
            + ".",
            "Re-check each override below against the new code, then update its sha256:",
        ]
        for pin, now in found:
            lines.append(f"- {pin.target}\n    ours: {pin.ours}\n    new sha256: {now}")
        raise AssertionError("\n".join(lines))


# private names found by the scan that are nobody's private API: the reason each is fine
NOT_UPSTREAM = {
    "_replace": "namedtuple's public copy-with-changes method (streams/sim)",
    "_SubParsersAction": "argparse's sub-parsers type, named in an annotation only",
    "_abc_impl": "abc's bookkeeping on every ABC subclass, not an override",
}


@dataclass(frozen=True)
class Use:
    """One private name that a module of ``streams`` uses."""

    path: Path
    line: int  # 0: a class (an override, or read through self)
    name: str
    how: str


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> what it imports (``import os``: os -> os)."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                out[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return out


def on_a_module(node: ast.Attribute, imported: dict[str, str]) -> bool:
    """``os._exit``: a name of a module that is not faust's, mode's or aiokafka's."""
    if not isinstance(node.value, ast.Name) or node.value.id not in imported:
        return False
    target = imported[node.value.id]
    if target.split(".")[0] in UPSTREAM:
        return False
    try:
        return inspect.ismodule(importlib.import_module(target))
    except ImportError:
        return False


def uses_in(path: Path) -> list[Use]:
    """Private names read in ``path`` other than through ``self``/``cls``/``super()`` (see
    :func:`class_uses`), by attribute or by ``getattr`` and friends, and the names on its
    ``# noqa: SLF001`` lines."""
    source = path.read_text()
    tree = ast.parse(source, str(path))
    imported = imports(tree)
    found: list[Use] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            direct = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            parent = (  # super()._name(): an override calling what it overrides
                isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "super"
            )
            if not (direct or parent or on_a_module(node, imported)):
                found.append(Use(path, node.lineno, node.attr, "access"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and is_private(node.args[1].value)
        ):
            found.append(Use(path, node.lineno, node.args[1].value, node.func.id))
    for number, line in enumerate(source.splitlines(), 1):
        if "noqa: SLF001" in line:
            code = line.split("#", 1)[0]
            for match in re.finditer(r"(\w*)\.(_[A-Za-z]\w*)", code):
                if match[1] not in ("self", "cls"):  # read through self: see class_uses
                    found.append(Use(path, number, match[2], "marked"))
    return found


def upstream_modules() -> list[Path]:
    """The modules of ``streams`` that import faust, mode or aiokafka."""
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if any(
            target.split(".")[0] in UPSTREAM
            for target in imports(ast.parse(path.read_text())).values()
        )
    ]


def set_on_self(cls: type) -> set[str]:
    """Private names a class of ours defines or assigns through ``self``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    names = {name for name in vars(cls) if is_private(name)}
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                names.add(target.attr)
    return names


def class_uses(cls: type, path: Path) -> list[Use]:
    """What a subclass of an upstream class overrides, and reads through ``self`` without
    setting it itself (faust's own private state)."""
    upstream = [b for b in cls.__mro__[1:] if b.__module__.split(".")[0] in UPSTREAM]
    if not upstream:
        return []
    ours = [b for b in cls.__mro__ if b.__module__.split(".")[0] == streams.__name__]
    own = set().union(*(set_on_self(b) for b in ours))
    overrides = {n for n in vars(cls) if is_private(n) and any(n in vars(b) for b in upstream)}
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    through_self = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and is_private(node.attr)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("self", "cls")
    }
    theirs = {n for n in through_self if n not in own or any(n in vars(b) for b in upstream)}
    return [Use(path, 0, name, "override") for name in overrides] + [
        Use(path, 0, name, "self") for name in theirs - overrides
    ]


def private_uses() -> list[Use]:
    """Every private name of another package that a module of ``streams`` uses."""
    found = [use for path in sorted(PACKAGE.rglob("*.py")) for use in uses_in(path)]
    own: set[str] = set()  # private methods of our classes that no upstream base has
    for path in upstream_modules():
        module = importlib.import_module(module_name(path))
        for obj in vars(module).values():
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                found += class_uses(obj, path)
                own |= own_methods(obj)
    return [use for use in found if use.name not in NOT_UPSTREAM and use.name not in own]


def own_methods(cls: type) -> set[str]:
    """``SourceTransactionManager._tid``: ours, though other modules of ours call it."""
    upstream = [b for b in cls.__mro__[1:] if b.__module__.split(".")[0] in UPSTREAM]
    return {n for n in vars(cls) if is_private(n) and not any(n in vars(b) for b in upstream)}


def pinned_names() -> set[str]:
    return {pin.target.rsplit(".", 1)[-1] for pin in PINS} | {
        name for pin in PINS for name in pin.names
    }


def test_every_private_name_streams_depends_on_is_pinned() -> None:
    pinned = pinned_names()
    missing = sorted(
        f"{use.path.relative_to(PACKAGE.parent)}:{use.line} {use.name} ({use.how})"
        for use in private_uses()
        if use.name not in pinned
    )
    assert missing == []


def test_the_scan_sees_what_the_worker_is_known_to_use() -> None:
    """The scan itself: names known to be used at each kind of place are found."""
    found = {(use.path.name, use.name, use.how) for use in private_uses()}
    assert {
        ("probes.py", "_thread", "getattr"),
        ("probes.py", "_subscription", "access"),
        ("reader.py", "_client", "access"),
        ("bounded_worker.py", "_on_sigterm", "override"),
        ("consumer.py", "_highwaters", "override"),
        ("store.py", "_dbs", "self"),
        ("current.py", "_current_event", "marked"),
    } <= found


def test_every_private_access_is_marked_where_it_is() -> None:
    unmarked = []
    for use in private_uses():
        if use.line == 0:  # overrides and reads through self: pinned, commented at the class
            continue
        lines = use.path.read_text().splitlines()[max(use.line - 3, 0) : use.line]
        if not any("noqa: SLF001" in line or "private:" in line for line in lines):
            unmarked.append(f"{use.path.relative_to(PACKAGE.parent)}:{use.line} {use.name}")
    assert unmarked == []


def test_the_pins_name_real_upstream_code() -> None:
    assert [pin.target for pin in PINS if not pin.ours] == []
    assert len({pin.target for pin in PINS}) == len(PINS)


def test_a_changed_or_missing_upstream_function_is_reported() -> None:
    pin = PINS[0]
    stale = Pin(pin.target, "0" * 64, pin.ours)
    gone = Pin(f"{TM}.no_such_method", pin.sha256, "ours")
    assert changed((pin, stale, gone)) == [
        (stale, pin.sha256),
        (gone, changed((gone,))[0][1]),
    ]
    assert changed((gone,))[0][1].startswith("gone")
