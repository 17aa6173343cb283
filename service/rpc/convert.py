"""The result type (`vfer.result.Result`, `StreamWindow`) to `vfer.v1` messages and back, through
protobuf's JSON mapping: the messages carry the result's fields under the same names, so the one
difference to bridge is the shape of a few (a box is a message, not a list; a JSON null is a zero
value; a protobuf map has no order and holds float32)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from service.schemas import ModelsBody
from vfer.result import Result, StreamWindow
from vfer_rpc.v1 import expression_pb2 as pb

_BOX = ("x", "y", "width", "height")
NO_FACE_TRACK = -1  # main_track_id's zero value: no face (JSON null)


def _to_messages(data: Any) -> Any:
    """JSON of the result type as protobuf's JSON mapping expects it: boxes as messages."""
    if isinstance(data, dict):
        return {k: dict(zip(_BOX, v, strict=True)) if k == "box" else _to_messages(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_to_messages(item) for item in data]
    return data


def _from_messages(data: Any, labels: list[str]) -> Any:
    """protobuf's JSON mapping back to the result type's shapes: boxes as lists, distributions
    in label order at 6 decimals, times to the millisecond."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key == "box":
                out[key] = [int(value.get(name, 0)) for name in _BOX]
            elif key == "distribution":
                out[key] = {label: round(float(value.get(label, 0.0)), 6) for label in labels} if value else None
            elif key in ("start_s", "end_s", "duration_s", "fps"):
                out[key] = round(float(value), 3)
            elif key == "margin":
                out[key] = round(float(value), 6)
            else:
                out[key] = _from_messages(value, labels)
        return out
    if isinstance(data, list):
        return [_from_messages(item, labels) for item in data]
    return data


def _message(data: dict[str, Any], message: Message) -> Any:
    return json_format.ParseDict(_to_messages(data), message)


def _data(message: Message) -> dict[str, Any]:
    data = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return dict(_from_messages(data, list(data.get("labels", []))))


def predict_response(result: Result, job_id: str) -> pb.PredictResponse:
    data = result.model_dump(mode="json", exclude_none=True)
    data["main_track_id"] = NO_FACE_TRACK if result.main_track_id is None else result.main_track_id
    return _message(data | {"job_id": job_id}, pb.PredictResponse())


def window_result(window: StreamWindow) -> pb.WindowResult:
    """A stream window as its message."""
    return _message(window.model_dump(mode="json"), pb.WindowResult())


def result_dict(message: pb.PredictResponse) -> dict[str, Any]:
    """A unary response back as the result type's JSON, as HTTP returns it (for Python clients)."""
    data = _data(message)
    data.pop("job_id")
    if data["main_track_id"] == NO_FACE_TRACK:
        data |= {"main_track_id": None, "margin": None, "label": None, "distribution": None}
    data["timings_ms"] = {k: float(v) for k, v in data["timings_ms"].items()}
    return Result.model_validate(data).model_dump(mode="json")


def window_result_dict(message: pb.WindowResult) -> dict[str, Any]:
    """A stream window back as the result type's JSON (`vfer stream --json`)."""
    return StreamWindow.model_validate(_data(message)).model_dump(mode="json")


def list_models_response(body: ModelsBody) -> pb.ListModelsResponse:
    """GET /models' body as ListModels' message (a model not measured has no `development`)."""
    return pb.ListModelsResponse(
        models=[
            pb.ListedModel(
                name=model.name,
                version=model.version,
                kind=model.kind or "",
                is_default=model.default,
                development=None
                if model.development is None
                else pb.DevelopmentFigures(**model.development.model_dump()),
            )
            for model in body.models
        ],
        model_dir=body.model_dir,
        card=body.card,
    )
