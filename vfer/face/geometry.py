"""Face boxes in frame pixel coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import dlib


@dataclass(frozen=True)
class Box:
    """An axis-aligned box; x1/y1 are exclusive."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def scaled(self, factor: float, dx: float = 0.0, dy: float = 0.0) -> Box:
        """This box mapped by x -> x * factor + dx (to and from resized regions)."""
        return Box(self.x0 * factor + dx, self.y0 * factor + dy, self.x1 * factor + dx, self.y1 * factor + dy)

    def to_dlib(self) -> dlib.rectangle:
        return dlib.rectangle(round(self.x0), round(self.y0), round(self.x1), round(self.y1))

    @classmethod
    def from_dlib(cls, rect: dlib.rectangle | dlib.drectangle) -> Box:
        return cls(float(rect.left()), float(rect.top()), float(rect.right()) + 1, float(rect.bottom()) + 1)

    def to_xywh(self) -> list[int]:
        return [round(self.x0), round(self.y0), round(self.width), round(self.height)]
