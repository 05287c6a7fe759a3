"""The conversion network, normalisers, the F0 map and the global-variance post-filter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cloner import convert, world
from guard.errors import CloneError, ParameterError


def _pairs(rng: np.random.Generator, n: int = 6, t: int = 120) -> tuple[list, list]:
    xs, ys = [], []
    w = rng.standard_normal((8, 5))
    for _ in range(n):
        x = rng.standard_normal((t, 8)).astype(np.float32)
        ys.append((np.tanh(x @ w) + 0.5 * np.roll(x[:, :5], 1, axis=0)).astype(np.float32))
        xs.append(x)
    return xs, ys


def test_training_lowers_the_loss_and_is_seeded(rng: np.random.Generator) -> None:
    torch.set_num_threads(1)
    xs, ys = _pairs(rng)
    config = convert.ConvertConfig(hidden=32, steps=120, batch=4, crop_frames=60, lr=5e-3)
    a = convert.train(xs, ys, config=config, seed=3)
    b = convert.train(xs, ys, config=config, seed=3)
    assert np.mean(a.history[-10:]) < 0.3 * np.mean(a.history[:5])
    assert a.history == b.history
    out = convert.predict(a.net, xs[0])
    assert out.shape == ys[0].shape


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"steps": 0}, "steps"), ({"kernel": 4}, "kernel"), ({"gv_weight": 1.5}, "gv_weight"), ({"hidden": 0}, "hidden")],
)
def test_bad_config(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        convert.ConvertConfig(**kwargs).validate()


def test_train_rejects_bad_pairs(rng: np.random.Generator) -> None:
    xs, ys = _pairs(rng, n=2)
    config = convert.ConvertConfig(steps=1)
    with pytest.raises(ParameterError, match="equally many"):
        convert.train(xs, ys[:1], config=config, seed=0)
    with pytest.raises(ParameterError, match="equal frame counts"):
        convert.train([xs[0]], [ys[0][:-1]], config=config, seed=0)
    with pytest.raises(ParameterError, match="equally many"):
        convert.train([], [], config=config, seed=0)


def test_normaliser_round_trip(rng: np.random.Generator) -> None:
    x = rng.normal(5.0, 3.0, (200, 4))
    norm = convert.Normaliser.fit(x)
    z = norm.apply(x)
    assert np.allclose(z.mean(0), 0, atol=1e-5) and np.allclose(z.std(0), 1, atol=1e-4)
    assert np.allclose(norm.invert(z), x, atol=1e-4)
    again = convert.Normaliser.from_dict(norm.to_dict())
    assert np.allclose(again.mean, norm.mean)


def test_f0_map_matches_target_statistics(rng: np.random.Generator) -> None:
    source = np.exp(rng.normal(np.log(120), 0.1, 500))
    target = np.exp(rng.normal(np.log(220), 0.2, 500))
    source[::5] = 0.0  # unvoiced frames stay unvoiced
    f0_map = convert.F0Map.fit([source], [target])
    mapped = f0_map(source)
    assert np.all(mapped[::5] == 0)
    voiced = mapped[mapped > 0]
    assert np.mean(np.log(voiced)) == pytest.approx(np.log(220), abs=0.03)
    assert np.std(np.log(voiced)) == pytest.approx(0.2, abs=0.03)


def test_f0_map_needs_voiced_frames() -> None:
    with pytest.raises(CloneError, match="voiced"):
        convert.F0Map.fit([np.zeros(100)], [np.full(100, 150.0)])


def test_interpolated_log_f0_fills_gaps() -> None:
    f0 = np.array([0, 100, 0, 0, 200, 0], dtype=np.float64)
    lf0 = convert.interpolated_log_f0(f0)
    assert lf0[0] == pytest.approx(np.log(100)) and lf0[-1] == pytest.approx(np.log(200))
    assert np.log(100) < lf0[2] < lf0[3] < np.log(200)
    assert np.all(convert.interpolated_log_f0(np.zeros(4)) == 0)


def test_global_variance_filter(rng: np.random.Generator) -> None:
    mcep = rng.normal(0, 0.5, (300, 6))
    gv = np.full(6, 1.0)
    full = convert.global_variance_filter(mcep, target_gv=gv, weight=1.0)
    assert np.allclose(full[:, 1:].var(0), 1.0)
    assert np.allclose(full[:, 0], mcep[:, 0])  # energy untouched
    assert np.allclose(convert.global_variance_filter(mcep, target_gv=gv, weight=0.0), mcep)


def test_convert_keeps_the_frame_grid(speech: np.ndarray, rng: np.random.Generator) -> None:
    feats = world.analyze(speech, sample_rate=16000)
    x, y = convert.input_frames(feats), convert.output_frames(feats)
    in_norm, out_norm = convert.Normaliser.fit(x), convert.Normaliser.fit(y)
    net = convert.ConversionNet(x.shape[1], y.shape[1], hidden=16, kernel=3).eval()
    f0_map = convert.F0Map(np.log(100), 0.1, np.log(200), 0.1)
    out = convert.convert(feats, net=net, in_norm=in_norm, out_norm=out_norm, f0_map=f0_map,
                          target_gv=feats.mcep.var(0), gv_weight=1.0)
    assert out.n_frames == feats.n_frames and out.mcep.shape == feats.mcep.shape
    assert np.all(out.bap <= 0) and np.array_equal(out.voiced, feats.voiced)
    assert world.synthesize(out).shape[0] >= speech.shape[0] - 200
