"""A face detector that counts what it is asked: how many whole-frame searches, which near searches."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vfer.face.detector import FaceDetector
from vfer.face.geometry import Box

GrayImage = npt.NDArray[np.uint8]


@dataclass
class CountingDetector:
    """The real detector, counting its full-frame searches."""

    real: FaceDetector
    full_searches: int = 0
    near_searches: list[Box] = field(default_factory=list)

    def detect(self, gray: GrayImage) -> list[Box]:
        self.full_searches += 1
        return self.real.detect(gray)

    def detect_near(self, gray: GrayImage, previous: Box) -> Box | None:
        self.near_searches.append(previous)
        return self.real.detect_near(gray, previous)
