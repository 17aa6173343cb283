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


# Left out of `make test-fast`: tests that start processes or servers, train, export to ONNX or
# score whole photo sets. The fast tier is the rest: in-process units on real files, in seconds.
_SLOW_PLACES = {
    "service", "deploy", "test_cli.py", "test_architecture.py", "test_training.py", "test_alignment.py",
    "test_docs.py",  # its example runs `vfer predict` as a process
}  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        place = item.path.relative_to(root).parts[0]
        if place in _SLOW_PLACES or "onnx" in item.name:
            item.add_marker(pytest.mark.slow)
        if place == "deploy":  # a real Docker engine: `make deploy-test`
            item.add_marker(pytest.mark.deploy)
