"""Result dictionaries (the CLI/HTTP schema) to `vfer.v1` messages."""

from __future__ import annotations

from typing import Any

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
        no_face=result["no_face"],
        partial=result["partial"],
        faces=faces,
        model=pb.ModelInfo(**result["model"]),
        video=pb.VideoInfo(**result["video"]),
        timings_ms=result["timings_ms"],
        job_id=job_id,
    )


def window_result_dict(message: pb.WindowResult) -> dict[str, Any]:
    """A stream window back in the result schema of HTTP and the CLI: labels in their order,
    boxes as [x, y, width, height], times to the millisecond (`vfer stream --json`)."""
    labels = list(message.labels)
    return {
        "index": message.index,
        "start_s": round(message.start_s, 3),
        "end_s": round(message.end_s, 3),
        "labels": labels,
        "faces": [
            {
                "track_id": face.track_id,
                "box": [face.box.x, face.box.y, face.box.width, face.box.height],
                "distribution": {label: round(face.distribution[label], 6) for label in labels},
                "label": face.label,
            }
            for face in message.faces
        ],
    }
