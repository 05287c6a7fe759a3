"""The detector CNN: a small ResNet over a time-frequency feature map, pooled over time.

Variable-length input: after the convolutions the frequency axis is flattened and the time
axis is summarised by its mean and standard deviation, so any window of at least a few
frames gives one logit (> 0 leans synthetic).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from guard.detect.features import FeatureConfig, FrontEnd
from guard.errors import ParameterError


@dataclass(frozen=True)
class ModelConfig:
    """CNN shape; stored in every model file.

    Attributes
    ----------
    channels : tuple of int
        Output channels of the residual stages; each stage halves frequency and time.
    embedding : int
        Width of the hidden layer before the logit.
    dropout : float in [0, 1)
    """

    channels: tuple[int, ...] = (16, 24, 32, 48)
    embedding: int = 64
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if not self.channels or any(c <= 0 for c in self.channels):
            raise ParameterError(f"channels must be positive, given channels={self.channels}")
        if not 0.0 <= self.dropout < 1.0:
            raise ParameterError(f"dropout must be in [0, 1), given dropout={self.dropout}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


class ResBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a strided shortcut."""

    def __init__(self, c_in: int, c_out: int, *, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
        )
        self.skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class DetectorNet(nn.Module):
    """Features [shape=(b, c, f, t)] -> logits [shape=(b,)]; ``forward_audio`` takes waveforms.

    ``c`` is ``features.n_channels``; only channel 0 (log energies) is mean-normalised over time.
    """

    def __init__(self, features: FeatureConfig, config: ModelConfig) -> None:
        super().__init__()
        self.feature_config, self.config = features, config
        self.front = FrontEnd(features)
        self.norm = nn.BatchNorm2d(features.n_channels)
        stages, c_in = [], features.n_channels
        for c in config.channels:
            stages.append(ResBlock(c_in, c, stride=2))
            c_in = c
        self.stages = nn.Sequential(*stages)
        f_out = features.n_features
        for _ in config.channels:
            f_out = (f_out - 1) // 2 + 1
        self.head = nn.Sequential(
            nn.Linear(2 * c_in * f_out, config.embedding), nn.ReLU(inplace=True),
            nn.Dropout(config.dropout), nn.Linear(config.embedding, 1),
        )

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        # Mean over time per band of the energy map: removes gain and a fixed channel
        # response. Phase channels (if any) are gain-free already and keep their level.
        energy = feats[:, :1]
        x = torch.cat([energy - energy.mean(dim=-1, keepdim=True), feats[:, 1:]], dim=1)
        x = self.norm(x)
        x = self.stages(x)
        x = x.flatten(1, 2)  # (b, c * f, t)
        pooled = torch.cat([x.mean(dim=-1), x.std(dim=-1, unbiased=False)], dim=1)
        return self.head(pooled).squeeze(-1)

    def forward_audio(self, y: torch.Tensor) -> torch.Tensor:
        """Waveforms [shape=(b, n)] at ``feature_config.sample_rate`` -> logits [shape=(b,)]."""
        return self.forward(self.front(y))


def n_parameters(net: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
