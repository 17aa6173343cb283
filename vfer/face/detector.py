"""dlib's frontal-face HOG detector, over a whole frame or only near where a face was."""

from __future__ import annotations

import cv2
import dlib
import numpy as np
import numpy.typing as npt

from vfer.face.geometry import Box

GrayImage = npt.NDArray[np.uint8]

# The HOG window is 80x80: scaling a region so the expected face is this big keeps it findable
# while the region stays small, which is what makes re-detection near a track cheap.
_ROI_FACE_PX = 84.0
_ROI_MARGIN = 0.35  # of the face width, added on each side: covers motion between two samples


class FaceDetector:
    """Finds frontal faces; `upsample` trades 4x time per step for faces half as large."""

    def __init__(self, upsample: int = 0) -> None:
        self._hog = dlib.get_frontal_face_detector()
        self._upsample = upsample

    def detect(self, gray: GrayImage) -> list[Box]:
        """All faces in the frame, largest first."""
        boxes = [Box.from_dlib(r) for r in self._hog(gray, self._upsample)]
        return sorted(boxes, key=lambda b: b.area, reverse=True)

    def detect_near(self, gray: GrayImage, previous: Box) -> Box | None:
        """The face in a small region around `previous`, scaled down; None when it is gone."""
        margin = _ROI_MARGIN * previous.width
        height, width = gray.shape
        x0, y0 = max(0, int(previous.x0 - margin)), max(0, int(previous.y0 - margin))
        x1, y1 = min(width, int(previous.x1 + margin)), min(height, int(previous.y1 + margin))
        if x1 - x0 < 20 or y1 - y0 < 20:
            return None
        region = gray[y0:y1, x0:x1]
        scale = min(1.0, _ROI_FACE_PX / max(previous.width, 1.0))
        if scale < 1.0:
            region = np.asarray(
                cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8
            )
        upsample = self._upsample if previous.width < _ROI_FACE_PX else 0
        found = [Box.from_dlib(r) for r in self._hog(np.ascontiguousarray(region), upsample)]
        if not found:
            return None
        best = max(found, key=lambda b: b.area)
        return best.scaled(1.0 / scale, dx=x0, dy=y0)
