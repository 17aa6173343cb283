"""A convolutional LSTM (Shi et al. 2015), as in equations (1)-(6) of Saurav et al. 2020.

    i_t = sigmoid(W_xi * X_t + W_hi * H_{t-1} + W_ci o C_{t-1} + b_i)     (1)
    f_t = sigmoid(W_xf * X_t + W_hf * H_{t-1} + W_cf o C_{t-1} + b_f)     (2)
    C_t = f_t o C_{t-1} + i_t o tanh(W_xc * X_t + W_hc * H_{t-1} + b_c)   (3, 4)
    o_t = sigmoid(W_xo * X_t + W_ho * H_{t-1} + W_co o C_t + b_o)         (5)
    H_t = o_t o tanh(C_t)                                                 (6)

`*` is convolution and `o` the Hadamard product; the W_c* "peephole" weights are per-pixel maps.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ConvLSTMCell(nn.Module):
    """One time step; all four gates come from one convolution over [X_t, H_{t-1}]."""

    def __init__(self, in_channels: int, hidden_channels: int, *, kernel_size: int = 3, size: tuple[int, int]) -> None:
        super().__init__()
        assert kernel_size % 2 == 1, "kernel_size must be odd so the state keeps its size"
        self.hidden_channels = hidden_channels
        self.gates = nn.Conv2d(
            in_channels + hidden_channels, 4 * hidden_channels, kernel_size, padding=kernel_size // 2
        )
        self.peep_i = nn.Parameter(torch.zeros(hidden_channels, *size))
        self.peep_f = nn.Parameter(torch.zeros(hidden_channels, *size))
        self.peep_o = nn.Parameter(torch.zeros(hidden_channels, *size))

    def forward(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        # x: (B, C_in, H, W); h, c: (B, C_h, H, W)
        gi, gf, gc, go = self.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        i = torch.sigmoid(gi + self.peep_i * c)
        f = torch.sigmoid(gf + self.peep_f * c)
        c = f * c + i * torch.tanh(gc)
        o = torch.sigmoid(go + self.peep_o * c)
        h = o * torch.tanh(c)
        return h, c


class ConvLSTM(nn.Module):
    """Runs a ConvLSTMCell over time and returns the last hidden state."""

    def __init__(self, in_channels: int, hidden_channels: int, *, kernel_size: int = 3, size: tuple[int, int]) -> None:
        super().__init__()
        self.cell = ConvLSTMCell(in_channels, hidden_channels, kernel_size=kernel_size, size=size)

    def forward(self, x: Tensor) -> Tensor:
        # x: (B, C, T, H, W) -> (B, C_h, H, W)
        batch, _, steps, height, width = x.shape
        h = x.new_zeros(batch, self.cell.hidden_channels, height, width)
        c = torch.zeros_like(h)
        for t in range(steps):
            h, c = self.cell(x[:, :, t], h, c)
        return h
