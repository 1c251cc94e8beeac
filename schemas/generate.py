"""Published contracts: JSON Schema (2020-12) files and the AsyncAPI 3.0 document.

``journeys schemas`` (or ``python -m schemas.generate``) writes ``schemas/jsonschema/*.json``
and ``schemas/asyncapi.yaml`` from the models and the topic registry; ``--check`` writes
nothing and exits 1 when the committed files differ from what the models give.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, get_origin

import yaml
from pydantic import BaseModel, TypeAdapter

from schemas.deadletters import DeadLetter
from schemas.erasure import ErasureConfirmation, ErasureRequest
from schemas.events import TouchpointEvent
from schemas.segment import SegmentBatch, SegmentMessage
from schemas.triggers import Trigger

__all__ = ["build", "check", "main", "register", "write"]

HERE = Path(__file__).parent
JSONSCHEMA_DIR = HERE / "jsonschema"
ASYNCAPI_PATH = HERE / "asyncapi.yaml"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
Mode = Literal["validation", "serialization"]


def _stem(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _close_off(node: Any, keep_closed: bool) -> Any:
    """Drop ``additionalProperties: false`` from output contracts (consumers must tolerate
    fields added within v1)."""
    if isinstance(node, dict):
        return {
            k: _close_off(v, keep_closed)
            for k, v in node.items()
            if keep_closed or not (k == "additionalProperties" and v is False)
        }
    if isinstance(node, list):
        return [_close_off(v, keep_closed) for v in node]
    return node


def _schema(name: str, target: Any, mode: Mode, *, closed: bool) -> dict[str, Any]:
    body = TypeAdapter(target).json_schema(mode=mode)
    head = {"$schema": DIALECT, "$id": f"urn:journeys:schema:{_stem(name)}:v1"}
    doc = {**head, "title": body.pop("title", name), **body}
    return dict(_close_off(doc, closed))


def _internal_targets() -> dict[str, Any]:
    """The models of ``schemas.internal`` (written by the stream engineer), if it exists."""
    try:
        module = importlib.import_module("schemas.internal")
    except ModuleNotFoundError as exc:
        if exc.name != "schemas.internal":
            raise
        return {}
    targets: dict[str, Any] = {}
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        is_model = inspect.isclass(obj) and issubclass(obj, BaseModel)
        if is_model or get_origin(obj) is Annotated:  # a model, or a union of models
            targets[name] = obj
    return targets


def json_schemas() -> dict[str, dict[str, Any]]:
    """Message name -> JSON Schema document, for every published message."""
    inputs: dict[str, Any] = {
        "TouchpointEvent": TouchpointEvent,
        "SegmentMessage": SegmentMessage,
        "SegmentBatch": SegmentBatch,
        "ErasureRequest": ErasureRequest,
    }
    outputs: dict[str, Any] = {
        "Trigger": Trigger,
        "DeadLetter": DeadLetter,
        "ErasureConfirmation": ErasureConfirmation,
    }
    closed_inputs = ("TouchpointEvent", "ErasureRequest")
    docs = {n: _schema(n, t, "validation", closed=n in closed_inputs) for n, t in inputs.items()}
    docs |= {n: _schema(n, t, "serialization", closed=False) for n, t in outputs.items()}
    docs |= {n: _schema(n, t, "serialization", closed=True) for n, t in _internal_targets().items()}
    return docs


def schema_file(name: str) -> str:
    return f"{_stem(name)}.v1.json"


def asyncapi(schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document for every topic of ``schemas.topics.topic_specs()``."""
    from schemas.topics import topic_specs

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in topic_specs():
        cid = spec.role.replace(".", "_")
        names = [n.strip() for n in spec.message.split("|")]
        messages = {n: _message(n, spec.key, schemas) for n in names}
        config: dict[str, Any] = {"cleanup.policy": [spec.cleanup]}
        if spec.retention_ms is not None:
            config["retention.ms"] = spec.retention_ms
        kafka = {"topic": spec.name, "partitions": spec.partitions}
        channels[cid] = {
            "address": spec.name,
            "description": f"{spec.description}\n\nKey: {spec.key}. Producers: "
            f"{', '.join(spec.producers)}. Consumers: {', '.join(spec.consumers)}.",
            "messages": messages,
            "bindings": {
                "kafka": {**kafka, "topicConfiguration": config, "bindingVersion": "0.5.0"}
            },
            "x-key": spec.key,
            "x-producers": list(spec.producers),
            "x-consumers": list(spec.consumers),
            "x-internal": spec.internal,
        }
        refs = [{"$ref": f"#/channels/{cid}/messages/{n}"} for n in names]
        for action, who in (("send", spec.producers), ("receive", spec.consumers)):
            if any(w.startswith("journeys") for w in who):
                operations[f"{action}_{cid}"] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{cid}"},
                    "messages": [dict(r) for r in refs],
                }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "journeys: customer journey event-stream processor",
            "version": "1.0.0",
            "description": "Topics read and written by the journeys worker. Operations are "
            "those of the worker. Partition counts are the defaults (settings can change "
            "them); topic names use the default prefix `journeys`. Versioning rules: "
            "schemas/VERSIONING.md.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The local single-node broker of deploy/kafka/kafka.sh",
            }
        },
        "channels": channels,
        "operations": operations,
    }


def _message(name: str, key: str, schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = (
        {"$ref": f"./jsonschema/{schema_file(name)}"}
        if name in schemas
        else {"type": "object", "description": f"{name}: no published schema"}
    )
    return {
        "name": name,
        "title": name,
        "contentType": "application/json",
        "payload": payload,
        "bindings": {
            "kafka": {"key": {"type": "string", "description": key}, "bindingVersion": "0.5.0"}
        },
    }


def build() -> dict[Path, str]:
    """Path -> exact file content, for every generated file."""
    schemas = json_schemas()
    files = {
        JSONSCHEMA_DIR / schema_file(n): json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        for n, doc in sorted(schemas.items())
    }
    files[ASYNCAPI_PATH] = yaml.safe_dump(
        asyncapi(schemas), sort_keys=False, allow_unicode=True, width=100
    )
    return files


def check(files: dict[Path, str]) -> list[str]:
    """What differs between ``files`` and the disk (stale extra schema files included)."""
    problems = [
        f"{p.relative_to(HERE.parent)} is out of date"
        for p, text in files.items()
        if not p.exists() or p.read_text(encoding="utf-8") != text
    ]
    extra = set(JSONSCHEMA_DIR.glob("*.json")) - set(files) if JSONSCHEMA_DIR.exists() else set()
    problems += [f"{p.relative_to(HERE.parent)} is not generated any more" for p in sorted(extra)]
    return problems


def write(files: dict[Path, str]) -> None:
    JSONSCHEMA_DIR.mkdir(exist_ok=True)
    for stale in set(JSONSCHEMA_DIR.glob("*.json")) - set(files):
        stale.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")


def _run(args: argparse.Namespace) -> int:
    files = build()
    if args.check:
        problems = check(files)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print("run `journeys schemas` to regenerate", file=sys.stderr)
        return 1 if problems else 0
    write(files)
    for path in files:
        print(path.relative_to(HERE.parent))
    return 0


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if committed files differ"
    )
    parser.set_defaults(func=_run)


def register(subparsers: Any) -> None:
    """Add the ``schemas`` subcommand to the ``journeys`` CLI."""
    parser = subparsers.add_parser(
        "schemas", help="generate the JSON Schema files and the AsyncAPI document"
    )
    _configure(parser)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.generate", description=__doc__)
    _configure(parser)
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    raise SystemExit(main())
