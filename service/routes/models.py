"""GET /models: the models a request may name, and what each measured on people it never saw, so a
caller can weigh a label before trusting it (read from the package's files, without torch)."""

from __future__ import annotations

from fastapi import APIRouter

from service.catalogue import served_models
from service.deps import ApiKeyDep, SettingsDep
from service.schemas import AUTH, ModelsBody, errors

router = APIRouter(tags=["models"])


@router.get(
    "/models",
    response_model=ModelsBody,
    responses=errors(AUTH),
    summary="The models a request may name, with their figures on the development people",
)
async def list_models(_owner: ApiKeyDep, settings: SettingsDep) -> ModelsBody:
    return served_models(settings)
