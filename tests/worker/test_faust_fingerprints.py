"""The faust and aiokafka code that ``streams.worker.eos`` overrides, copies or reaches
into by private name, pinned by a fingerprint of its source.

Each :class:`Pin` names one upstream function (or class attribute), the sha256 of its
source (``inspect.getsource``, dedented) as of the versions in :data:`TAKEN_FROM`, and
what our override does about it. When an upgrade changes any of them, the test fails
listing every changed one with that text: re-check exactly those overrides against the
new upstream code, then update the fingerprints (the failure prints the new ones).

A second test keeps the table complete: every private name that ``streams/worker/eos``
accesses, or overrides in a faust class, must be named by a pin.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import textwrap
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import streams.worker.eos as eos

TAKEN_FROM = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}

EOS_DIR = Path(eos.__file__).parent

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
        "records the offset: the same key and format CommittedStore.commit_partition uses.",
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
            f"{len(found)} upstream function(s) that streams/worker/eos depends on changed.",
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


def private_names_used_by_eos() -> set[str]:
    """Private names that eos reads, or overrides in a faust class, that are not its own.

    Read from the source: every ``x._name`` (an access), every private method or class
    attribute eos defines (its own, unless an upstream base class defines it too: then
    it overrides a faust private method)."""
    accessed: set[str] = set()
    defined: set[str] = set()
    for path in sorted(EOS_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and is_private(node.attr):
                accessed.add(node.attr)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.AnnAssign):
                name = node.target if isinstance(node, ast.AnnAssign) else node
                key = name.id if isinstance(name, ast.Name) else getattr(name, "name", "")
                if is_private(key):
                    defined.add(key)
    overrides = {
        name
        for cls in eos_classes()
        for base in cls.__mro__[1:]
        if not base.__module__.startswith(eos.__name__)
        for name in defined
        if name in vars(cls) and name in vars(base)
    }
    own = (defined - overrides) | OWN_INSTANCE_ATTRIBUTES
    return (accessed | overrides) - own


# set in __init__ (or as class defaults) of Guard, acting_for, BatchedOutput,
# SourceTransactionManager and CommittedStore: eos's own
OWN_INSTANCE_ATTRIBUTES = {
    "_lock",
    "_event",
    "_token",
    "_groups",
    "_tids",
    "_uncommitted",
    "_changelog_offsets",
    "_watched",
}


def eos_classes() -> list[type]:
    modules = [
        importlib.import_module(f"{eos.__name__}.{path.stem}")
        for path in EOS_DIR.glob("*.py")
        if path.stem != "__init__"
    ]
    return [
        obj
        for module in modules
        for obj in vars(module).values()
        if inspect.isclass(obj) and obj.__module__ == module.__name__
    ]


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_every_private_name_eos_depends_on_is_pinned() -> None:
    pinned = {pin.target.rsplit(".", 1)[-1] for pin in PINS}
    pinned |= {name for pin in PINS for name in pin.names}
    assert sorted(private_names_used_by_eos() - pinned) == []


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
