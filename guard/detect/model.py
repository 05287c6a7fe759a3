"""The detector CNN: a small ResNet over a time-frequency feature map, pooled over time.

Variable-length input: after the convolutions the frequency axis is flattened and the time
axis is summarised by its mean and standard deviation, so any window of at least a few
frames gives one score (> 0 leans synthetic).

Two heads, chosen by ``ModelConfig.loss``: ``"bce"``, a hidden layer and a logit trained
with binary cross-entropy; ``"ocsoftmax"``, the one-class softmax of Zhang, Jiang & Duan
("One-class learning towards synthetic voice spoofing detection", IEEE SPL 2021): a linear
embedding and one learned direction, both L2-normalised, compared by cosine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
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
    loss : {"bce", "ocsoftmax"}
        The head and the loss it is trained with (files written before this field read as "bce").
    margin_bonafide, margin_spoof : float in (-1, 1), margin_spoof < margin_bonafide
        One-class softmax only: the cosine bona fide embeddings are pushed above, spoofs below.
    alpha : float > 0
        One-class softmax only: scale of the cosine inside the loss (and of the score).
    """

    channels: tuple[int, ...] = (16, 24, 32, 48)
    embedding: int = 64
    dropout: float = 0.2
    loss: str = "bce"
    margin_bonafide: float = 0.9
    margin_spoof: float = 0.2
    alpha: float = 20.0

    def __post_init__(self) -> None:
        if not self.channels or any(c <= 0 for c in self.channels):
            raise ParameterError(f"channels must be positive, given channels={self.channels}")
        if not 0.0 <= self.dropout < 1.0:
            raise ParameterError(f"dropout must be in [0, 1), given dropout={self.dropout}")
        if self.loss not in LOSSES:
            raise ParameterError(f"loss must be one of {', '.join(LOSSES)}, given loss={self.loss!r}")
        if not -1.0 < self.margin_spoof < self.margin_bonafide < 1.0:
            raise ParameterError("need -1 < margin_spoof < margin_bonafide < 1, given "
                                 f"margin_spoof={self.margin_spoof}, margin_bonafide={self.margin_bonafide}")
        if not self.alpha > 0:
            raise ParameterError(f"alpha must be > 0, given alpha={self.alpha}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


LOSSES = ("bce", "ocsoftmax")


def oc_softmax_loss(embeddings: torch.Tensor, direction: torch.Tensor, labels: torch.Tensor, *,
                    margin_bonafide: float, margin_spoof: float, alpha: float,
                    spoof_weight: float = 1.0) -> torch.Tensor:
    """One-class softmax loss: ``softplus(alpha * (m_y - cos) * (-1)^y)``, averaged.

    ``cos`` is the cosine between each embedding and ``direction``; a bona fide embedding
    (``y = 0``) costs little once ``cos > margin_bonafide``, a spoof (``y = 1``) once
    ``cos < margin_spoof``. Only bona fide speech is gathered around one direction; spoofs
    are merely kept away from it, which is meant to leave room for attacks never seen.

    Parameters
    ----------
    embeddings : torch.Tensor [shape=(b, d)]
    direction : torch.Tensor [shape=(d,)]
    labels : torch.Tensor [shape=(b,)]
        1 for spoof, 0 for bona fide.
    margin_bonafide, margin_spoof : float, margin_spoof < margin_bonafide
    alpha : float > 0
    spoof_weight : float > 0
        Weight of each spoof term (the trainer balances the classes with it); the mean is
        taken over the weights.

    Returns
    -------
    torch.Tensor [shape=()]
    """
    if embeddings.ndim != 2 or direction.shape != embeddings.shape[1:] or labels.shape != embeddings.shape[:1]:
        raise ParameterError(f"need embeddings (b, d), direction (d,) and labels (b,), given {tuple(embeddings.shape)}, "
                             f"{tuple(direction.shape)} and {tuple(labels.shape)}")
    cos = F.normalize(embeddings, dim=1) @ F.normalize(direction, dim=0)
    spoof = labels > 0.5
    z = torch.where(spoof, cos - margin_spoof, margin_bonafide - cos)
    weights = torch.where(spoof, torch.full_like(cos, spoof_weight), torch.ones_like(cos))
    return (weights * F.softplus(alpha * z)).sum() / weights.sum()


class OneClassHead(nn.Module):
    """Pooled features -> linear embedding -> score ``alpha * ((m_bonafide + m_spoof) / 2 - cos)``.

    The score falls as the embedding turns towards the bona fide direction, is 0 halfway
    between the two margins, and so keeps the detector's sign: higher = more synthetic.
    """

    def __init__(self, n_in: int, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(n_in, config.embedding))
        self.direction = nn.Parameter(torch.randn(config.embedding) / config.embedding ** 0.5)

    def cosine(self, pooled: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embed(pooled), dim=1) @ F.normalize(self.direction, dim=0)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        c = self.config
        return c.alpha * (0.5 * (c.margin_bonafide + c.margin_spoof) - self.cosine(pooled))


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
    """Features [shape=(b, c, f, t)] -> scores [shape=(b,)]; ``forward_audio`` takes waveforms.

    ``c`` is ``features.n_channels``; only the log-energy channels (the first
    ``features.n_energy_channels``) are mean-normalised over time.
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
        if config.loss == "ocsoftmax":
            self.head: nn.Module = OneClassHead(2 * c_in * f_out, config)
        else:
            self.head = nn.Sequential(
                nn.Linear(2 * c_in * f_out, config.embedding), nn.ReLU(inplace=True),
                nn.Dropout(config.dropout), nn.Linear(config.embedding, 1),
            )

    def pooled(self, feats: torch.Tensor) -> torch.Tensor:
        """Features [shape=(b, c, f, t)] -> mean and std over time [shape=(b, 2 * c' * f')]."""
        # Mean over time per band of the energy maps: removes gain and a fixed channel
        # response. Phase channels (if any) are gain-free already and keep their level.
        k = self.feature_config.n_energy_channels
        energy = feats[:, :k]
        x = torch.cat([energy - energy.mean(dim=-1, keepdim=True), feats[:, k:]], dim=1)
        x = self.norm(x)
        x = self.stages(x)
        x = x.flatten(1, 2)  # (b, c * f, t)
        return torch.cat([x.mean(dim=-1), x.std(dim=-1, unbiased=False)], dim=1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        out = self.head(self.pooled(feats))
        return out.squeeze(-1) if out.ndim == 2 else out

    def forward_audio(self, y: torch.Tensor) -> torch.Tensor:
        """Waveforms [shape=(b, n)] at ``feature_config.sample_rate`` -> scores [shape=(b,)]."""
        return self.forward(self.front(y))


def n_parameters(net: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
