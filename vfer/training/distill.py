"""Knowledge distillation from the FER2013 mini-Xception: its per-frame distributions, averaged
over a clip, are the soft targets; real labels, where a clip has one, are blended in."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from vfer.models import TEACHER_MODEL, create_model
from vfer.training.train import predict_proba

UNLABELLED = -1


def teacher_targets(crops: npt.NDArray[np.uint8], *, teacher: torch.nn.Module | None = None) -> npt.NDArray[np.float32]:
    """(N, 7) clip distributions of the teacher on (N, 8, 64, 64) aligned crops."""
    teacher = teacher or create_model(TEACHER_MODEL, pretrained=True)
    return predict_proba(teacher.eval(), crops, device=torch.device("cpu"))


def blend_targets(
    teacher: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], *, label_weight: float = 0.5
) -> npt.NDArray[np.float32]:
    """Soft targets: the teacher's, mixed with the one-hot label where there is one."""
    targets = teacher.copy()
    labelled = labels != UNLABELLED
    one_hot = np.eye(teacher.shape[1], dtype=np.float32)[labels[labelled]]
    targets[labelled] = label_weight * one_hot + (1 - label_weight) * teacher[labelled]
    return targets
