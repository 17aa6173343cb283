from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import require_data
from vfer.face.tracking import FaceModels
from vfer.predict import Predictor


@pytest.fixture(scope="session")
def data() -> Path:
    return require_data()


@pytest.fixture(scope="session")
def face_models() -> FaceModels:
    return FaceModels.load()


@pytest.fixture(scope="session")
def predictor(face_models: FaceModels) -> Predictor:
    return Predictor(face_models=face_models)
