"""The FER2013 mini-Xception (Arriaga et al. 2017) in PyTorch, and its clip-level wrapper.

    face (B, 1, 64, 64) -> stem: 2x [Conv 3x3 valid -> BN -> ReLU]            (B, 8, 60, 60)
      -> 4 residual blocks (16, 32, 64, 128 channels), each halving the size  (B, 128, 4, 4)
      -> Conv 3x3 to 7 maps -> global average                                 (B, 7)

Keras' "same" max-pooling pads the extra pixel at the bottom/right, which `nn.MaxPool2d`
cannot express; `SamePadMaxPool2d` pads explicitly so the ported weights give the same output.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vfer.labels import NUM_CLASSES
from vfer.models.registry import register_model

BN_EPS = 1e-3  # Keras' default, which the weights were trained with


class SamePadMaxPool2d(nn.Module):
    """Max-pooling with TensorFlow "same" padding: output ceil(n / stride), extra pad after."""

    def __init__(self, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for n in (x.shape[-1], x.shape[-2]):  # F.pad takes the last dimension first
            total = max((math.ceil(n / self.stride) - 1) * self.stride + self.kernel_size - n, 0)
            pads += [total // 2, total - total // 2]
        return F.max_pool2d(F.pad(x, pads, value=float("-inf")), self.kernel_size, self.stride)


class SeparableConv2d(nn.Module):
    """Depthwise 3x3 then pointwise 1x1, without bias (Keras SeparableConv2D)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """Two separable convolutions and a strided 1x1 shortcut, added after pooling."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False),
            nn.BatchNorm2d(out_channels, eps=BN_EPS),
        )
        self.body = nn.Sequential(
            SeparableConv2d(in_channels, out_channels),
            nn.BatchNorm2d(out_channels, eps=BN_EPS),
            nn.ReLU(),
            SeparableConv2d(out_channels, out_channels),
            nn.BatchNorm2d(out_channels, eps=BN_EPS),
            SamePadMaxPool2d(3, 2),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.shortcut(x)


class MiniXception(nn.Module):
    """Frame classifier; input gray in [0, 1], scaled as in training ((x - 0.5) * 2)."""

    def __init__(self, *, num_classes: int = NUM_CLASSES, widths: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 8, 3, bias=False),
            nn.BatchNorm2d(8, eps=BN_EPS),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, bias=False),
            nn.BatchNorm2d(8, eps=BN_EPS),
            nn.ReLU(),
        )
        blocks, in_channels = [], 8
        for width in widths:
            blocks.append(XceptionBlock(in_channels, width))
            in_channels = width
        self.blocks = nn.Sequential(*blocks)
        self.num_features = in_channels
        self.head = nn.Conv2d(in_channels, num_classes, 3, padding=1)

    def forward_features(self, x: Tensor) -> Tensor:
        # x: (B, 1, 64, 64) in [0, 1] -> (B, 128, 4, 4)
        return self.blocks(self.stem((x - 0.5) * 2.0))

    def forward_head(self, features: Tensor) -> Tensor:
        return self.head(features).mean(dim=(2, 3))  # (B, num_classes) logits

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


class FrameAveraged(nn.Module):
    """A frame model applied to each frame of a clip; the clip distribution is the frames' mean.

    Returns the log of the mean probability, so softmax of the output is that mean and the
    module fits wherever a clip model's logits are expected.
    """

    def __init__(self, frame_model: nn.Module) -> None:
        super().__init__()
        self.frame_model = frame_model

    def forward(self, x: Tensor) -> Tensor:
        # x: (B, 1, T, H, W) -> frames (B*T, 1, H, W)
        batch, channels, steps, height, width = x.shape
        frames = x.permute(0, 2, 1, 3, 4).reshape(batch * steps, channels, height, width)
        probs = torch.softmax(self.frame_model(frames), dim=1).reshape(batch, steps, -1)  # (B, T, K)
        return torch.log(probs.mean(dim=1).clamp_min(1e-12))  # (B, K)


@register_model(
    summary="FER2013 mini-Xception per frame, mean over the 8 frames (ported, MIT; fine-tuned on FER+ + photos)",
    pretrained="mini_xception_fer2013",
)
def mini_xception_fer2013(**kwargs: object) -> FrameAveraged:
    return FrameAveraged(MiniXception(**kwargs))  # type: ignore[arg-type]
