"""The models a request may name, as the gateway lists them over HTTP (GET /models) and gRPC
(ListModels): the shipped models' files and figures, and which one this gateway serves by default."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from service.gateway_settings import Settings
from service.schemas import Development, ModelInfo, ModelsBody
from vfer.models.catalogue import shipped_models

CARD = "models/card"  # GET /models/card, relative to the gateway's root


def served_models(settings: Settings) -> ModelsBody:
    default = Path(settings.model).stem  # a name, or the operator's checkpoint path
    models = [
        ModelInfo(
            name=model.name,
            version=model.version,
            kind=model.kind,
            default=model.name == default,
            development=None if model.measured is None else Development(**asdict(model.measured)),
        )
        for model in shipped_models().values()
    ]
    return ModelsBody(models=models, model_dir=settings.model_dir is not None, card=CARD)
