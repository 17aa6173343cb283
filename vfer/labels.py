"""The seven expression labels, in the order of the paper (Saurav et al. 2020) and of every output."""

from __future__ import annotations

LABELS: tuple[str, ...] = ("neutral", "surprise", "happy", "disgust", "sad", "fear", "anger")
NUM_CLASSES = len(LABELS)
