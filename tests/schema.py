"""Validation against the one documented result schema (vfer/result.schema.json, generated from
`vfer.result.Result`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "vfer" / "result.schema.json").read_text())
Draft202012Validator.check_schema(SCHEMA)


def assert_result(result: dict[str, Any]) -> None:
    """`result` is a valid result, its distributions in label order."""
    Draft202012Validator(SCHEMA).validate(result)
    for face in result["faces"]:
        for part in (face, *face["windows"]):
            assert list(part["distribution"]) == result["labels"]


def assert_stream_window(window: dict[str, Any]) -> None:
    Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/StreamWindow"}).validate(window)
    for face in window["faces"]:
        assert list(face["distribution"]) == window["labels"]
