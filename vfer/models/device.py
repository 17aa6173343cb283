"""Where the models run: CUDA when present, else the CPU (torch alone, so training runs on a GPU
machine that has nothing of the service installed)."""

from __future__ import annotations

import torch


def select_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
