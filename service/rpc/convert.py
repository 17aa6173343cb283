"""Result dictionaries (the CLI/HTTP schema, vfer/result.schema.json) to `vfer.v1` messages and
back: one field for each field, so a gRPC client and an HTTP client read the same result."""

from __future__ import annotations

from typing import Any

from service.schemas import ModelsBody
from vfer_rpc.v1 import expression_pb2 as pb


def box(values: list[int]) -> pb.Box:
    x, y, width, height = values
    return pb.Box(x=x, y=y, width=width, height=height)


def window(data: dict[str, Any]) -> pb.Window:
    return pb.Window(
        start_s=data["start_s"],
        end_s=data["end_s"],
        box=box(data["box"]),
        distribution=data["distribution"],
        label=data["label"],
    )


def window_result(data: dict[str, Any]) -> pb.WindowResult:
    """A stream window (the schema's `streamWindow`) as its message."""
    return pb.WindowResult(
        index=data["index"],
        start_s=data["start_s"],
        end_s=data["end_s"],
        labels=data["labels"],
        faces=[
            pb.FaceWindow(track_id=f["track_id"], box=box(f["box"]), distribution=f["distribution"], label=f["label"])
            for f in data["faces"]
        ],
    )


def predict_response(result: dict[str, Any], job_id: str) -> pb.PredictResponse:
    faces = [
        pb.Face(
            track_id=f["track_id"],
            start_s=f["start_s"],
            end_s=f["end_s"],
            box=box(f["box"]),
            samples=f["samples"],
            distribution=f["distribution"],
            label=f["label"],
            margin=f["margin"],
            uncertain=f["uncertain"],
            windows=[window(w) for w in f["windows"]],
        )
        for f in result["faces"]
    ]
    main = result["main_track_id"]
    return pb.PredictResponse(
        source=result["source"],
        labels=result["labels"],
        label=result["label"] or "",
        distribution=result["distribution"] or {},
        main_track_id=-1 if main is None else main,
        margin=result["margin"] or 0.0,
        uncertain=result["uncertain"],
        no_face=result["no_face"],
        partial=result["partial"],
        faces=faces,
        model=pb.ModelInfo(**result["model"]),
        video=pb.VideoInfo(**result["video"]),
        timings_ms=result["timings_ms"],
        job_id=job_id,
        options=pb.AppliedOptions(**result["options"]),
    )


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


def _box_list(message: pb.Box) -> list[int]:
    return [message.x, message.y, message.width, message.height]


def _distribution(values: Any, labels: list[str]) -> dict[str, float]:
    """A protobuf map (no order, float32) as the schema's: label order, 6 decimals."""
    return {label: round(values[label], 6) for label in labels}


def _seconds(value: float) -> float:
    return round(value, 3)


def result_dict(message: pb.PredictResponse) -> dict[str, Any]:
    """A unary response back in the result schema, as HTTP returns it (for Python clients)."""
    labels = list(message.labels)
    faces = [
        {
            "track_id": f.track_id,
            "start_s": _seconds(f.start_s),
            "end_s": _seconds(f.end_s),
            "box": _box_list(f.box),
            "samples": f.samples,
            "distribution": _distribution(f.distribution, labels),
            "label": f.label,
            "margin": round(f.margin, 6),
            "uncertain": f.uncertain,
            "windows": [
                {
                    "start_s": _seconds(w.start_s),
                    "end_s": _seconds(w.end_s),
                    "box": _box_list(w.box),
                    "distribution": _distribution(w.distribution, labels),
                    "label": w.label,
                }
                for w in f.windows
            ],
        }
        for f in message.faces
    ]
    return {
        "source": message.source,
        "labels": labels,
        "label": message.label or None,
        "distribution": _distribution(message.distribution, labels) if message.distribution else None,
        "main_track_id": None if message.main_track_id < 0 else message.main_track_id,
        "margin": None if message.main_track_id < 0 else round(message.margin, 6),
        "uncertain": message.uncertain,
        "no_face": message.no_face,
        "partial": message.partial,
        "faces": faces,
        "model": {k: getattr(message.model, k) for k in ("name", "version", "backend", "device", "kind")},
        "video": {
            "duration_s": _seconds(message.video.duration_s),
            "fps": round(message.video.fps, 3),
            "frames": message.video.frames,
            "width": message.video.width,
            "height": message.video.height,
        },
        "options": {
            "mode": message.options.mode,
            "window_s": message.options.window_s,
            "stride_s": message.options.stride_s,
        },
        "timings_ms": dict(message.timings_ms),
    }


def window_result_dict(message: pb.WindowResult) -> dict[str, Any]:
    """A stream window back in the result schema of HTTP and the CLI: labels in their order,
    boxes as [x, y, width, height], times to the millisecond (`vfer stream --json`)."""
    labels = list(message.labels)
    return {
        "index": message.index,
        "start_s": _seconds(message.start_s),
        "end_s": _seconds(message.end_s),
        "labels": labels,
        "faces": [
            {
                "track_id": face.track_id,
                "box": _box_list(face.box),
                "distribution": _distribution(face.distribution, labels),
                "label": face.label,
            }
            for face in message.faces
        ],
    }
