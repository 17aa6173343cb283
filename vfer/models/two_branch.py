"""The paper's in-the-wild model (AFEW): two branches whose features are summed before the head.

    clip (B, 1, 8, 64, 64)
      ├─ 3D CNN -> ConvLSTM(16)                                  (B, 16, 8, 8) ─┐
      └─ per frame: FER2013 mini-Xception up to 8x8 (64 ch)                     + -> flatten -> FC
         -> ConvLSTM(16) over the 8 frames                       (B, 16, 8, 8) ─┘

The FER2013 branch starts from the shipped mini-Xception weights (`pretrained_fer`, a fresh
model's initialisation only: a checkpoint holds every weight); `freeze_fer` keeps them fixed.
`fer_blocks=4` takes the mini-Xception's last block too (128 channels at 4x4, the maps its own
classifier reads, so the branch hands on what the frame model learnt about expressions rather than
mid-level parts); its ConvLSTM runs at 4x4 and each cell is repeated over the 2x2 cells of the
video branch's 8x8 that see the same part of the face, so the sum stays aligned.
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

# Blocks of the mini-Xception a branch may take -> the maps they give a 64x64 face: (channels, side).
FER_MAPS = {3: (64, 8), 4: (128, 4)}
FER_BLOCKS = 3  # the paper's depth: the maps at 8x8, the video branch's size


class TwoBranch(nn.Module):
    def __init__(
        self,
        *,
        num_classes: int = NUM_CLASSES,
        freeze_fer: bool = True,
        pretrained_fer: bool = True,
        dropout: float = 0.5,
        fer_blocks: int = FER_BLOCKS,
    ) -> None:
        super().__init__()
        assert fer_blocks in FER_MAPS, f"fer_blocks must be one of {tuple(FER_MAPS)}, got {fer_blocks}"
        self.video = C3DConvLSTM(num_classes=0)  # the branch's features only: the head is below
        self.register_load_state_dict_pre_hook(_drop_the_old_video_head)
        fer = MiniXception()
        if pretrained_fer:
            frame_averaged, _ = load_checkpoint(pretrained_path("mini_xception_fer2013"))
            prefix = "frame_model."
            weights = {k[len(prefix) :]: v for k, v in frame_averaged.state_dict().items() if k.startswith(prefix)}
            fer.load_state_dict(weights)
        self.fer_stem, self.fer_blocks = fer.stem, fer.blocks[:fer_blocks]
        if freeze_fer:
            for p in [*self.fer_stem.parameters(), *self.fer_blocks.parameters()]:
                p.requires_grad_(False)
        self.freeze_fer = freeze_fer
        channels, side = FER_MAPS[fer_blocks]
        self.fer_lstm = ConvLSTM(channels, 16, kernel_size=3, size=(side, side))
        self.fer_upsample = nn.Upsample(scale_factor=8 // side) if side < 8 else nn.Identity()
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
        maps = self.fer_maps(frames)
        return self._summed(x, maps.reshape(batch, steps, *maps.shape[1:]))

    def fer_maps(self, frames: Tensor) -> Tensor:
        # frames: (N, 1, H, W) in [0, 1] -> (N, C, S, S): 64x8x8 or 128x4x4
        return self.fer_blocks(self.fer_stem((frames - 0.5) * 2.0))

    def forward_distinct(self, frames: Tensor, where: Tensor) -> Tensor:
        """Logits of the clips `frames[where]`: frames (U, 1, H, W) in [0, 1], each distinct
        frame once, and where (B, T) the frame each clip shows at each step. The FER branch works
        on each frame alone, so overlapping windows (a video's share half their frames) pass
        each shared frame through it once: the same logits for about 30 % less time on a CPU."""
        clips = frames[where].permute(0, 2, 1, 3, 4)  # (B, T, 1, H, W) -> (B, 1, T, H, W)
        return self.forward_head(self._summed(clips, self.fer_maps(frames)[where]))

    def _summed(self, clips: Tensor, maps: Tensor) -> Tensor:
        # clips (B, 1, T, H, W); maps (B, T, C, S, S) -> features (B, 1024)
        fer = torch.flatten(self.fer_upsample(self.fer_lstm(maps.permute(0, 2, 1, 3, 4))), 1)  # (B, 16, 8, 8)
        return self.video.forward_features(clips) + fer  # the paper sums the branches

    def forward_head(self, features: Tensor) -> Tensor:
        return self.fc(self.dropout(features))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


def _drop_the_old_video_head(module: nn.Module, state_dict: dict[str, Tensor], prefix: str, *_: object) -> None:
    """Older checkpoints saved the video branch's own (never used) classifier: skip it."""
    for name in ("video.fc.weight", "video.fc.bias"):
        state_dict.pop(prefix + name, None)


@register_model(
    summary="paper's in-the-wild model: C3D+ConvLSTM + mini-Xception branch; trained on FER+ (majority) and real-labelled photos",
    pretrained="c3d_convlstm_fer",
    init_weights=("pretrained_fer",),
)
def c3d_convlstm_fer(**kwargs: object) -> TwoBranch:
    return TwoBranch(**kwargs)  # type: ignore[arg-type]
