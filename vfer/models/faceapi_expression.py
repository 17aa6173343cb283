"""face-api.js FaceExpressionNet in PyTorch: a second frame model, of another family than the
FER2013 mini-Xception (MIT; ported from the TF.js weights by scripts/convert_faceapi_expression.py).

Four dense blocks of depthwise-separable convolutions with TensorFlow's "same" padding (the extra
row and column of a stride-2 layer go at the bottom and right), a 7x7 average pool and a
fully-connected layer. Its input is a 112x112 RGB face-box crop (vfer.face.crops.box_crop); the
port's outputs match the JavaScript library's to 1e-4 (tests/test_faceapi_port.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vfer.labels import NUM_CLASSES
from vfer.models.mini_xception import FrameAveraged
from vfer.models.registry import register_model

MEAN_RGB = (122.782, 117.001, 104.298)  # face-api's mean, in 0-255 levels
INPUT_SIZE = 112


def _same_pad(x: Tensor, stride: int) -> Tensor:
    """TensorFlow "same" padding of a 3x3 kernel: the odd pixel goes after, not before."""
    height, width = x.shape[-2:]
    pad_h = max((-(-height // stride) - 1) * stride + 3 - height, 0)
    pad_w = max((-(-width // stride) - 1) * stride + 3 - width, 0)
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


class SeparableConv(nn.Module):
    """Depthwise 3x3 then pointwise 1x1, one bias after both (tf.separableConv2d + bias)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, stride, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(_same_pad(x, self.stride)))


class FirstConv(nn.Module):
    """The first block's plain 3x3 convolution."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(in_channels, out_channels, 3, stride)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(_same_pad(x, self.stride))


class DenseBlock(nn.Module):
    """face-api's denseBlock4: each conv sees the sum of all earlier outputs of the block."""

    def __init__(self, in_channels: int, out_channels: int, *, first: bool) -> None:
        super().__init__()
        self.conv0: nn.Module = (
            FirstConv(in_channels, out_channels, 2) if first else SeparableConv(in_channels, out_channels, 2)
        )
        self.conv1 = SeparableConv(out_channels, out_channels)
        self.conv2 = SeparableConv(out_channels, out_channels)
        self.conv3 = SeparableConv(out_channels, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        out1 = F.relu(self.conv0(x))
        out2 = self.conv1(out1)
        out3 = self.conv2(F.relu(out1 + out2))
        out4 = self.conv3(F.relu(out1 + out2 + out3))
        return F.relu(out1 + out2 + out3 + out4)


class FaceExpressionNet(nn.Module):
    """Frame classifier; input RGB crops (B, 3, 112, 112) in [0, 1], logits in LABELS order."""

    mean: Tensor

    def __init__(self, *, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.dense0 = DenseBlock(3, 32, first=True)
        self.dense1 = DenseBlock(32, 64, first=False)
        self.dense2 = DenseBlock(64, 128, first=False)
        self.dense3 = DenseBlock(128, 256, first=False)
        self.fc = nn.Linear(256, num_classes)
        self.register_buffer("mean", torch.tensor(MEAN_RGB).reshape(1, 3, 1, 1) / 255.0, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        x = x - self.mean  # face-api: (pixels - mean) / 255
        for block in (self.dense0, self.dense1, self.dense2, self.dense3):
            x = block(x)  # 112 -> 56 -> 28 -> 14 -> 7
        x = F.avg_pool2d(x, 7, 2)  # (B, 256, 1, 1)
        return self.fc(x.flatten(1))  # (B, K)


@register_model(
    summary="face-api.js FaceExpressionNet per frame (112x112 RGB face box), mean over the 8 frames (ported, MIT; last layer refitted)",
    pretrained="faceapi_expression",
)
def faceapi_expression(**kwargs: object) -> FrameAveraged:
    return FrameAveraged(FaceExpressionNet(**kwargs))  # type: ignore[arg-type]
