"""The paper's in-the-wild model (AFEW): two branches whose features are summed before the head.

    clip (B, 1, 8, 64, 64)
      ├─ 3D CNN -> ConvLSTM(16)                                  (B, 16, 8, 8) ─┐
      └─ per frame: FER2013 mini-Xception up to 8x8 (64 ch)                     + -> flatten -> FC
         -> ConvLSTM(16) over the 8 frames                       (B, 16, 8, 8) ─┘

The FER2013 branch starts from the shipped mini-Xception weights (`pretrained_fer`, a fresh
model's initialisation only: a checkpoint holds every weight); `freeze_fer` keeps them fixed.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vfer.labels import NUM_CLASSES
from vfer.models.c3d_convlstm import C3DConvLSTM
from vfer.models.checkpoint import pretrained_path
from vfer.models.convlstm import ConvLSTM
from vfer.models.mini_xception import MiniXception
from vfer.models.registry import load_checkpoint, register_model

FER_BLOCKS = 3  # of the mini-Xception's four: its maps at 8x8 (64 channels), the video branch's size


class TwoBranch(nn.Module):
    def __init__(
        self,
        *,
        num_classes: int = NUM_CLASSES,
        freeze_fer: bool = True,
        pretrained_fer: bool = True,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.video = C3DConvLSTM(num_classes=0)  # the branch's features only: the head is below
        self.register_load_state_dict_pre_hook(_drop_the_old_video_head)
        fer = MiniXception()
        if pretrained_fer:
            frame_averaged, _ = load_checkpoint(pretrained_path("mini_xception_fer2013"))
            prefix = "frame_model."
            weights = {k[len(prefix) :]: v for k, v in frame_averaged.state_dict().items() if k.startswith(prefix)}
            fer.load_state_dict(weights)
        self.fer_stem, self.fer_blocks = fer.stem, fer.blocks[:FER_BLOCKS]
        if freeze_fer:
            for p in [*self.fer_stem.parameters(), *self.fer_blocks.parameters()]:
                p.requires_grad_(False)
        self.freeze_fer = freeze_fer
        self.fer_lstm = ConvLSTM(64, 16, kernel_size=3, size=(8, 8))
        self.num_features = self.video.num_features
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_features, num_classes)

    def train(self, mode: bool = True) -> TwoBranch:
        super().train(mode)
        if self.freeze_fer:  # frozen BatchNorm statistics stay those of FER2013
            self.fer_stem.eval()
            self.fer_blocks.eval()
        return self

    def forward_features(self, x: Tensor) -> Tensor:
        # x: (B, 1, T, H, W) in [0, 1]
        batch, _, steps, height, width = x.shape
        frames = x.permute(0, 2, 1, 3, 4).reshape(batch * steps, 1, height, width)  # (B*T, 1, H, W)
        maps = self.fer_blocks(self.fer_stem((frames - 0.5) * 2.0))  # (B*T, 64, 8, 8)
        maps = maps.reshape(batch, steps, *maps.shape[1:]).permute(0, 2, 1, 3, 4)  # (B, 64, T, 8, 8)
        fer = torch.flatten(self.fer_lstm(maps), 1)  # (B, 16, 8, 8) -> (B, 1024)
        return self.video.forward_features(x) + fer  # the paper sums the branches

    def forward_head(self, features: Tensor) -> Tensor:
        return self.fc(self.dropout(features))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


def _drop_the_old_video_head(module: nn.Module, state_dict: dict[str, Tensor], prefix: str, *_: object) -> None:
    """Older checkpoints saved the video branch's own (never used) classifier: skip it."""
    for name in ("video.fc.weight", "video.fc.bias"):
        state_dict.pop(prefix + name, None)


@register_model(
    summary="paper's in-the-wild model: C3D+ConvLSTM + FER2013 mini-Xception branch; trained on real labels for all seven",
    pretrained="c3d_convlstm_fer",
    init_weights=("pretrained_fer",),
)
def c3d_convlstm_fer(**kwargs: object) -> TwoBranch:
    return TwoBranch(**kwargs)  # type: ignore[arg-type]
