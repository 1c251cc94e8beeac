"""The committed JSON Schema files and AsyncAPI document match the models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import orjson
import yaml

from schemas import generate
from schemas.topics import topic_specs
from tests.schemas.payloads import CANONICAL


def test_committed_files_match_the_models() -> None:
    problems = generate.check(generate.build())
    assert problems == [], "run `journeys schemas` (python -m schemas.generate): " + "; ".join(
        problems
    )


def test_check_mode_exit_code() -> None:
    assert generate.main(["--check"]) == 0


def test_register_adds_the_schemas_subcommand() -> None:
    parser = argparse.ArgumentParser(prog="journeys")
    generate.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["schemas", "--check"])
    assert args.check is True
    assert args.func(args) == 0


def test_json_schemas_are_2020_12_and_named() -> None:
    for path in generate.JSONSCHEMA_DIR.glob("*.json"):
        doc = json.loads(path.read_text())
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert path.name.endswith(".v1.json")
    names = {p.name for p in generate.JSONSCHEMA_DIR.glob("*.json")}
    assert {
        "touchpoint_event.v1.json",
        "trigger.v1.json",
        "dead_letter.v1.json",
        "segment_message.v1.json",
        "segment_batch.v1.json",
    } <= names


def test_trigger_schema_lets_consumers_tolerate_new_fields() -> None:
    text = (generate.JSONSCHEMA_DIR / "trigger.v1.json").read_text()
    assert '"additionalProperties": false' not in text
    event = json.loads((generate.JSONSCHEMA_DIR / "touchpoint_event.v1.json").read_text())
    assert event["additionalProperties"] is False
    assert set(event["required"]) == {"event_id", "type", "event_time"}
    assert set(CANONICAL) <= set(event["properties"])


def test_asyncapi_describes_every_topic() -> None:
    doc = yaml.safe_load(generate.ASYNCAPI_PATH.read_text())
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"]: c for c in doc["channels"].values()}
    for spec in topic_specs():
        channel = addresses[spec.name]
        kafka = channel["bindings"]["kafka"]
        assert kafka["partitions"] == spec.partitions
        assert kafka["topicConfiguration"]["cleanup.policy"] == [spec.cleanup]
        assert channel["x-producers"] == list(spec.producers)
        assert channel["x-consumers"] == list(spec.consumers)
        for message in channel["messages"].values():
            ref = message["payload"].get("$ref")
            if ref is not None:
                assert (generate.ASYNCAPI_PATH.parent / ref).is_file(), ref
    for name, operation in doc["operations"].items():
        assert operation["action"] in {"send", "receive"}
        assert name.startswith(operation["action"])
        channel_id = operation["channel"]["$ref"].removeprefix("#/channels/")
        assert channel_id in doc["channels"]


def test_package_data_paths_exist() -> None:
    root = Path(generate.__file__).parent
    assert (root / "asyncapi.yaml").is_file()
    assert orjson.loads((root / "jsonschema" / "trigger.v1.json").read_bytes())["title"]
