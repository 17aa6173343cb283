"""GET /models: the models a request may name, and what each measured on people it never saw, so a
caller can weigh a label before trusting it; GET /models/card: the model card those figures come
from (both read from the package's files, without torch)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from service.catalogue import served_models
from service.deps import ApiKeyDep, SettingsDep
from service.schemas import AUTH, ModelsBody, errors
from vfer.models.catalogue import MODEL_CARD

router = APIRouter(tags=["models"])


@router.get(
    "/models",
    response_model=ModelsBody,
    responses=errors(AUTH),
    summary="The models a request may name, with their figures on the development people",
)
async def list_models(_owner: ApiKeyDep, settings: SettingsDep) -> ModelsBody:
    return served_models(settings)


@router.get(
    "/models/card",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}}, "description": "the model card, Markdown"}},
    summary="The model card: how the shipped models were trained, chosen and measured, and their limits",
)
async def model_card() -> PlainTextResponse:
    """Open like /docs: a link on the web page cannot carry a key, and the card is the package's."""
    return PlainTextResponse(MODEL_CARD.read_text(), media_type="text/markdown; charset=utf-8")
