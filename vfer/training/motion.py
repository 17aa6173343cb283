"""Photos as clips under smooth random motion, on whatever device the batch is on.

The paper trains on CK+ peak frames rotated by a few angles; a still clip moved smoothly teaches
the 3D convolutions that motion of the head is not an expression. This is the GPU-friendly form
(one `grid_sample` per batch): every clip gets its own rotation (up to `max_angle` degrees, the
paper's range), shift (up to 4 %) and scale (within 6 %), each moving linearly from a random start
to a random end over the frames, and a coin flip mirrors it. Edges repeat the border pixels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MAX_SHIFT = 0.04  # of the frame's width
MAX_SCALE_CHANGE = 0.06


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, device=device) * 2 - 1) * bound


def move_clips(clips: torch.Tensor, generator: torch.Generator, *, max_angle: float = 15.0) -> torch.Tensor:
    """(B, C, T, H, W) float clips, each under its own smooth motion; a new tensor."""
    batch, channels, frames, height, width = clips.shape
    device = clips.device
    angles = _uniform((batch, 2), math.radians(max_angle), generator, device)  # start, end
    shifts = _uniform((batch, 2, 2), 2 * MAX_SHIFT, generator, device)  # normalised coordinates span 2
    scales = 1 + _uniform((batch, 2), MAX_SCALE_CHANGE, generator, device)
    flip = torch.rand(batch, generator=generator, device=device) < 0.5
    step = torch.linspace(0.0, 1.0, frames, device=device)[None]  # (1, T)
    angle = angles[:, :1] + (angles[:, 1:] - angles[:, :1]) * step  # (B, T)
    scale = scales[:, :1] + (scales[:, 1:] - scales[:, :1]) * step
    shift = shifts[:, 0, None] + (shifts[:, 1, None] - shifts[:, 0, None]) * step[..., None]  # (B, T, 2)
    # The sampling grid maps output to input: the inverse of rotating by `angle` and zooming by
    # `scale` about the centre, then shifting.
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    mirror = torch.where(flip, -1.0, 1.0)[:, None]  # (B, 1): x read from the other side
    theta = torch.stack(
        [
            torch.stack([cos * mirror, -sin, -shift[..., 0]], -1),
            torch.stack([sin * mirror, cos, -shift[..., 1]], -1),
        ],
        -2,
    )  # (B, T, 2, 3)
    per_frame = clips.permute(0, 2, 1, 3, 4).reshape(batch * frames, channels, height, width)  # (B*T, C, H, W)
    grid = F.affine_grid(theta.reshape(batch * frames, 2, 3), list(per_frame.shape), align_corners=False)
    moved = F.grid_sample(per_frame, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return moved.reshape(batch, frames, channels, height, width).permute(0, 2, 1, 3, 4)  # (B, C, T, H, W)
