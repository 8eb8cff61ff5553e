"""Generate the integrators' contract from the wire models: JSON Schemas and AsyncAPI.

``python -m chainwatch.shared.docgen docs/`` writes ``docs/schemas/<subject>.json`` for
every subject and ``docs/asyncapi.json`` (AsyncAPI 3.0). A test regenerates them and fails
when the committed files differ, so the documents can never drift from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from chainwatch.shared.contract import CHANNELS
from chainwatch.shared.schemas import WireModel


def schema_file_name(subject: str) -> str:
    return subject.replace("{stage}", "stage") + ".json"


def json_schemas() -> dict[str, dict[str, Any]]:
    """Subject → the JSON Schema of the message it carries; ``<subject>.reply`` → the schema
    of the answer to a request subject."""
    schemas = {channel.subject: _schema(channel.model) for channel in CHANNELS}
    for channel in CHANNELS:
        if channel.reply is not None:
            schemas[f"{channel.subject}.reply"] = _schema(channel.reply)
    return schemas


def _schema(model: type[WireModel]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel in CHANNELS:
        key = channel.model.__name__
        channel_id = channel.subject.replace(".", "_").replace("{stage}", "stage")
        entry: dict[str, Any] = {
            "address": channel.subject,
            "description": channel.description
            + (f" JetStream stream: {channel.stream.name}." if channel.stream else ""),
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        if "{stage}" in channel.subject:
            entry["parameters"] = {"stage": {"description": "The stage that gave up"}}
        channels[channel_id] = entry
        messages[key] = _message(key, channel.model)
        if channel.reply is None:
            operations[f"receive_{channel_id}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "summary": f"Consume {channel.subject}",
            }
            continue
        reply_key, reply_id = channel.reply.__name__, f"{channel_id}_reply"
        channels[reply_id] = {
            "address": None,
            "description": f"The answer to a request on {channel.subject}, sent to the "
            "requester's inbox.",
            "messages": {reply_key: {"$ref": f"#/components/messages/{reply_key}"}},
        }
        messages[reply_key] = _message(reply_key, channel.reply, reply=True)
        operations[f"request_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Request on {channel.subject}; the reply comes to your inbox",
            "reply": {"channel": {"$ref": f"#/channels/{reply_id}"}},
        }

    streams = {
        s.name: {"subjects": list(s.subjects), "max_age_s": s.max_age.total_seconds()}
        for s in {c.stream.name: c.stream for c in CHANNELS if c.stream}.values()
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "chainwatch events",
            "version": "1.0.0",
            "description": (
                "Events of the chainwatch transaction-screening platform on NATS. Every "
                "subject is captured by a durable JetStream stream, so a consumer can replay "
                "it. JetStream streams: " + json.dumps(streams)
            ),
        },
        "servers": {
            "local": {"host": "127.0.0.1:4222", "protocol": "nats", "description": "make run"}
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _message(key: str, model: type[WireModel], *, reply: bool = False) -> dict[str, Any]:
    headers = (
        {"Chainwatch-Status": {"type": "string", "description": "200, 422, 500 or 503, as HTTP"}}
        if reply
        else {
            "Nats-Msg-Id": {"type": "string", "description": "de-duplication key"},
            "Chainwatch-Schema": {"type": "string", "description": "schema_version"},
        }
    )
    return {
        "name": key,
        "contentType": "application/json",
        "headers": {"type": "object", "properties": headers},
        "payload": {"schemaFormat": "application/schema+json;version=draft-2020-12",
                    "schema": _schema(model)},
    }  # fmt: skip


def render(out_dir: Path) -> dict[Path, str]:
    """Every generated file's path and text, without writing anything."""
    files = {
        out_dir / "schemas" / schema_file_name(subject): _dump(schema)
        for subject, schema in json_schemas().items()
    }
    files[out_dir / "asyncapi.json"] = _dump(asyncapi())
    return files


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0] if args else "docs")
    for path, text in render(out_dir).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(path)  # noqa: T201 - command-line output


if __name__ == "__main__":
    main()
