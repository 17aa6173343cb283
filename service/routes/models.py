"""GET /models: the models a request may name, and what each measured on people it never saw, so a
caller can weigh a label before trusting it (read from the package's files, without torch)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from service.deps import ApiKeyDep, SettingsDep
from service.schemas import AUTH, Development, ModelInfo, ModelsBody, errors
from vfer.models.catalogue import shipped_models

router = APIRouter(tags=["models"])
CARD = "vfer/models/weights/MODEL_CARD.md in the package"


@router.get(
    "/models",
    response_model=ModelsBody,
    responses=errors(AUTH),
    summary="The models a request may name, with their figures on the development people",
)
async def list_models(_owner: ApiKeyDep, settings: SettingsDep) -> ModelsBody:
    default = Path(settings.model).stem  # a name, or the operator's checkpoint path
    models = [
        ModelInfo(
            name=model.name,
            version=model.version,
            kind=model.kind,
            default=model.name == default,
            development=None if model.measured is None else Development(**model.measured.to_dict()),
        )
        for model in shipped_models().values()
    ]
    return ModelsBody(models=models, model_dir=settings.model_dir is not None, card=CARD)
