from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import require_data
from vfer.face.tracking import FaceModels
from vfer.models import TEACHER_MODEL
from vfer.predict import Predictor


@pytest.fixture(scope="session")
def data() -> Path:
    return require_data()


@pytest.fixture(scope="session")
def face_models() -> FaceModels:
    return FaceModels.load()


@pytest.fixture(scope="session")
def predictor(face_models: FaceModels) -> Predictor:
    """The default model."""
    return Predictor(face_models=face_models)


@pytest.fixture(scope="session")
def teacher(face_models: FaceModels) -> Predictor:
    """The FER2013 mini-Xception, the video models' teacher."""
    return Predictor(TEACHER_MODEL, face_models=face_models)
