"""The one-class softmax head: the loss on tiny tensors, the model file option, a tiny training run, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import untrained_model_file, write_buzz_corpus

from guard.cli import cli
from guard.detect import load_model
from guard.detect.calibration import Calibration
from guard.detect.data import read_spec
from guard.detect.features import FeatureConfig
from guard.detect.io import load_model_file, save_model
from guard.detect.model import DetectorNet, ModelConfig, OneClassHead, oc_softmax_loss
from guard.detect.train import TrainConfig, make_loss, train
from guard.errors import ParameterError

SR = 16000
MARGINS = {"margin_bonafide": 0.9, "margin_spoof": 0.2, "alpha": 20.0}


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_loss_matches_the_formula_on_unit_vectors() -> None:
    w = torch.tensor([1.0, 0.0])
    emb = torch.tensor([[3.0, 0.0], [0.0, 2.0]])  # cos 1 (bona fide), cos 0 (spoof); norms must not matter
    loss = oc_softmax_loss(emb, w, torch.tensor([0.0, 1.0]), **MARGINS)
    expected = (_softplus(20 * (0.9 - 1.0)) + _softplus(20 * (0.0 - 0.2))) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_loss_is_low_when_bonafide_aligns_and_spoofs_clear_the_margin() -> None:
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(8, generator=gen)
    other = torch.randn(8, generator=gen)
    away = other - (other @ w) / (w @ w) * w  # orthogonal to w: cos 0 < 0.2
    labels = torch.tensor([0.0, 0.0, 1.0, 1.0])
    good = torch.stack([2 * w, 0.5 * w, away, -w])
    bad = torch.stack([away, -w, 2 * w, 0.5 * w])
    low, high = oc_softmax_loss(good, w, labels, **MARGINS), oc_softmax_loss(bad, w, labels, **MARGINS)
    assert low.item() < 0.2 < 10.0 < high.item()


def test_loss_gradient_pulls_bonafide_towards_the_direction() -> None:
    w = torch.tensor([1.0, 0.0])
    emb = torch.tensor([[1.0, 1.0]], requires_grad=True)  # cos 0.71 < 0.9: bona fide still costs
    oc_softmax_loss(emb, w, torch.tensor([0.0]), **MARGINS).backward()
    stepped = emb.detach() - 0.1 * emb.grad
    assert torch.nn.functional.cosine_similarity(stepped, w[None]).item() > 1 / math.sqrt(2)


def test_spoof_weight_balances_the_classes() -> None:
    w = torch.tensor([1.0, 0.0])
    emb = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # both on w: the spoof term is large, the bona fide one small
    labels = torch.tensor([0.0, 1.0])
    plain = oc_softmax_loss(emb, w, labels, **MARGINS)
    heavy = oc_softmax_loss(emb, w, labels, spoof_weight=3.0, **MARGINS)
    bona, spoof = _softplus(20 * (0.9 - 1.0)), _softplus(20 * (1.0 - 0.2))
    assert plain.item() == pytest.approx((bona + spoof) / 2, rel=1e-6)
    assert heavy.item() == pytest.approx((bona + 3 * spoof) / 4, rel=1e-6)


@pytest.mark.parametrize(("emb", "w", "labels"), [
    (torch.zeros(3), torch.zeros(3), torch.zeros(3)),
    (torch.zeros(2, 3), torch.zeros(4), torch.zeros(2)),
    (torch.zeros(2, 3), torch.zeros(3), torch.zeros(3)),
])
def test_loss_rejects_mismatched_shapes(emb: torch.Tensor, w: torch.Tensor, labels: torch.Tensor) -> None:
    with pytest.raises(ParameterError, match="need embeddings"):
        oc_softmax_loss(emb, w, labels, **MARGINS)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"loss": "ocsoftmax"}, None),
    ({"loss": "hinge"}, "loss must be one of bce, ocsoftmax, given loss='hinge'"),
    ({"loss": "ocsoftmax", "margin_bonafide": 0.1, "margin_spoof": 0.2}, "margin_spoof < margin_bonafide"),
    ({"loss": "ocsoftmax", "margin_bonafide": 1.0}, "margin_bonafide=1.0"),
    ({"loss": "ocsoftmax", "alpha": 0.0}, "alpha must be > 0"),
])
def test_model_config_loss_options(kwargs: dict, match: str | None) -> None:
    if match is None:
        assert ModelConfig(**kwargs).loss == "ocsoftmax"
        return
    with pytest.raises(ParameterError, match=match):
        ModelConfig(**kwargs)


def test_head_score_is_higher_for_embeddings_turned_away() -> None:
    torch.manual_seed(0)
    head = OneClassHead(4, ModelConfig(embedding=4, loss="ocsoftmax")).eval()
    with torch.no_grad():
        head.embed[1].weight.copy_(torch.eye(4))
        head.embed[1].bias.zero_()
        head.direction.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        cos_mid = 0.55  # halfway between the margins: score 0
        x = torch.tensor([[1.0, 0.0, 0.0, 0.0], [cos_mid, math.sqrt(1 - cos_mid**2), 0, 0], [0.0, 1.0, 0.0, 0.0], [-1.0, 0, 0, 0]])
        scores = head(x)
    assert scores[1].item() == pytest.approx(0.0, abs=1e-5)
    assert scores[0].item() == pytest.approx(20 * (0.55 - 1.0), rel=1e-5)
    assert torch.all(torch.diff(scores) > 0)


@pytest.fixture(scope="module")
def oc_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained (seeded) one-class model file."""
    return untrained_model_file(tmp_path_factory.mktemp("oc") / "oc.pt", model=ModelConfig(loss="ocsoftmax", margin_bonafide=0.8),
                                calibration=Calibration(0.5, 0.0), meta={"seed": 0})


def test_model_file_round_trips_the_loss(oc_model_path: Path, tmp_path: Path, rng: np.random.Generator) -> None:
    payload = torch.load(oc_model_path, weights_only=True)
    assert payload["model"]["loss"] == "ocsoftmax" and payload["model"]["margin_bonafide"] == 0.8
    mf = load_model_file(oc_model_path)
    assert mf.model.loss == "ocsoftmax" and mf.model.margin_bonafide == 0.8 and isinstance(mf.build().head, OneClassHead)
    again = load_model_file(save_model(tmp_path / "again.pt", mf))
    assert again.model == mf.model
    y = (0.1 * rng.standard_normal(4 * SR)).astype(np.float32)
    a, b = load_model(oc_model_path).score(y, sample_rate=SR), load_model(tmp_path / "again.pt").score(y, sample_rate=SR)
    assert a.score == b.score and 0.0 <= a.p_synthetic <= 1.0 and len(a.segments) == 2
    # The score is alpha * (midpoint - cos): bounded by alpha * (midpoint +- 1).
    assert -20 * 0.5 <= a.score <= 20 * 1.5


def test_files_without_the_loss_field_load_as_bce(tmp_path: Path) -> None:
    path = untrained_model_file(tmp_path / "bce.pt")
    payload = torch.load(path, weights_only=True)
    for key in ("loss", "margin_bonafide", "margin_spoof", "alpha"):
        del payload["model"][key]
    torch.save(payload, tmp_path / "old.pt")
    assert load_model_file(tmp_path / "old.pt").model.loss == "bce"


def test_make_loss_follows_the_head() -> None:
    torch.manual_seed(0)
    fc = FeatureConfig()
    feats = torch.randn(4, fc.n_channels, fc.n_features, 60)
    labels = torch.tensor([0.0, 1.0, 0.0, 1.0])
    for loss in ("bce", "ocsoftmax"):
        net = DetectorNet(fc, ModelConfig(loss=loss))
        value = make_loss(net, spoof_weight=1.0)(feats, labels)
        value.backward()
        assert value.ndim == 0 and torch.isfinite(value)
        assert all(p.grad is not None for p in net.head.parameters())


@pytest.fixture(scope="module")
def buzz_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Noise under a slow envelope (bona fide) against harmonic buzzes (spoof), train/dev/test."""
    root = tmp_path_factory.mktemp("buzz")
    return write_buzz_corpus(root, clip_s=1.5, counts=(8, 4, 4), seed=7)


def test_tiny_training_with_ocsoftmax_gives_a_model_that_scores(buzz_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "oc.pt"
    mf = train(read_spec(buzz_corpus / "manifest.csv"), out, seed=3, quiet=True,
               config=TrainConfig(epochs=3, views=1, batch_size=8), model=ModelConfig(loss="ocsoftmax"))
    assert mf.model.loss == "ocsoftmax" and len(mf.meta["history"]) == 3
    detector = load_model(out)
    assert detector.model_file.model.loss == "ocsoftmax"
    items = [it for it in read_spec(buzz_corpus / "manifest.csv") if it.split == "test"]
    from guard.audio import load

    p = {it.label: [] for it in items}
    for it in items:
        p[it.label].append(detector.score(load(it.path, sample_rate=SR), sample_rate=SR).p_synthetic)
    # Calibration maps the score the way round the code expects: spoofs get the higher p_synthetic.
    assert mf.calibration.scale > 0
    assert np.mean(p["spoof"]) > np.mean(p["bonafide"])


def test_cli_train_loss_option(buzz_corpus: Path, runner, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "cli.pt"
    res = runner.invoke(cli, ["detect", "train", "--data", str(buzz_corpus / "manifest.csv"), "-o", str(out),
                              "--epochs", "1", "--views", "1", "--seed", "1", "--loss", "ocsoftmax", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["model"] == str(out) and load_model_file(out).model.loss == "ocsoftmax"
    res = runner.invoke(cli, ["detect", "train", "--data", str(buzz_corpus / "manifest.csv"), "-o", str(tmp_path / "x.pt"),
                              "--loss", "hinge"])
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert res.exit_code == 2 and len(errors) == 1
    assert "'--loss'" in errors[0] and "'hinge'" in errors[0] and "ocsoftmax" in errors[0]
    assert not (tmp_path / "x.pt").exists()
