"""The paper's video model (Saurav et al. 2020, section III-B): 3D CNN, then a ConvLSTM over time.

    clip (B, 1, 8, 64, 64), gray in [0, 1]
      -> [Conv3d 3x3x3 -> ReLU -> MaxPool 1x2x2] x 3      (B, C3, 8, 8, 8)
      -> ConvLSTM, 16 filters 3x3, last hidden state      (B, 16, 8, 8)
      -> flatten -> dropout -> Linear -> (softmax)         (B, 7)

Pooling follows every convolution (space only, time is left to the ConvLSTM): the paper leaves
the pooling sizes open, and pooling early keeps the two wider convolutions off full resolution,
which is what makes the model real-time on a CPU (see README, model latency).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from vfer.labels import NUM_CLASSES
from vfer.models.convlstm import ConvLSTM
from vfer.models.registry import register_model


class C3DConvLSTM(nn.Module):
    """3D-CNN + ConvLSTM classifier with timm-style `forward_features` / `forward_head`."""

    def __init__(
        self,
        *,
        channels: tuple[int, int, int] = (16, 32, 32),
        lstm_filters: int = 16,
        frames: int = 8,
        size: int = 64,
        num_classes: int = NUM_CLASSES,
        dropout: float = 0.5,
        conv: Callable[..., nn.Module] = nn.Conv3d,
        activation: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 1
        for out_channels in channels:
            layers += [
                conv(in_channels, out_channels, kernel_size=3, padding=1),
                activation(),
                nn.MaxPool3d(kernel_size=(1, 2, 2)),
            ]
            in_channels = out_channels
        self.frames, self.size = frames, size
        self.cnn = nn.Sequential(*layers)
        side = size // 2 ** len(channels)
        self.lstm = ConvLSTM(in_channels, lstm_filters, kernel_size=3, size=(side, side))
        self.num_features = lstm_filters * side * side
        self.dropout = nn.Dropout(dropout)
        # num_classes=0 (timm's convention): a backbone without a head, as the two-branch model uses it.
        self.fc: nn.Module = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()

    def forward_features(self, x: Tensor) -> Tensor:
        # x: (B, 1, T, H, W) in [0, 1] -> (B, F)
        assert x.shape[1:] == (1, self.frames, self.size, self.size), (
            f"expected clips of shape (B, 1, {self.frames}, {self.size}, {self.size}), got {tuple(x.shape)}"
        )
        x = self.cnn(x * 2.0 - 1.0)  # (B, C3, T, H/8, W/8)
        return torch.flatten(self.lstm(x), 1)  # (B, 16 * H/8 * W/8)

    def forward_head(self, features: Tensor) -> Tensor:
        return self.fc(self.dropout(features))  # (B, num_classes) logits

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


@register_model(
    summary="paper model: 3 Conv3d + ConvLSTM(16); trained on FER+ (majority) and real-labelled photos",
    pretrained="c3d_convlstm",
)
def c3d_convlstm(**kwargs: object) -> C3DConvLSTM:
    return C3DConvLSTM(**kwargs)  # type: ignore[arg-type]
