"""faust's configuration for the worker, from Settings: app arguments and credentials.

The one place that turns :class:`~streams.settings.Settings` into faust's terms (the
benchmark's faust baseline reads its credentials here too).
"""

from __future__ import annotations

from typing import Any

import faust

from streams.settings import Settings
from streams.worker import eos, faust_codec


def faust_credentials(settings: Settings) -> Any:
    """faust credentials (``broker_credentials``), or ``None`` for PLAINTEXT."""
    context = settings.ssl_context()
    if settings.security_protocol.startswith("SASL_"):
        assert settings.sasl_password is not None  # checked by _sasl_complete
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password.get_secret_value(),
            ssl_context=context,
            mechanism=settings.sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def faust_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``faust.App`` for these settings."""
    return {
        "broker": settings.broker_url,
        "broker_credentials": faust_credentials(settings),
        "store": settings.store,
        "datadir": str(settings.data_dir / settings.app_id),
        "processing_guarantee": settings.processing_guarantee,
        "broker_commit_interval": settings.commit_interval_seconds,
        "producer_linger": settings.producer_linger_ms / 1000,
        "producer_max_batch_size": settings.producer_max_batch_size,
        "broker_max_poll_records": settings.consumer_max_poll_records,
        "consumer_max_fetch_size": settings.consumer_max_fetch_bytes,
        "broker_session_timeout": settings.session_timeout_seconds,
        "consumer_group_instance_id": settings.group_instance_id,
        "broker_heartbeat_interval": min(3.0, settings.session_timeout_seconds / 3),
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "table_standby_replicas": settings.standby_replicas,
        "key_serializer": "raw",
        "value_serializer": faust_codec.CODEC_NAME,
        "consumer_auto_offset_reset": "earliest",
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "web_enabled": True,
        "autodiscover": False,
        "Table": eos.TrackedTable,
        "TableManager": eos.SeekFirstTableManager,
        "worker_redirect_stdouts": False,
        "topic_disable_leader": True,
        "stream_wait_empty": True,
    }
