"""WORLD analysis/synthesis, band aperiodicity, DTW alignment and MCD."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SR, tone

from cloner import align, world
from guard.errors import AudioError, ParameterError


def test_analyze_shapes_and_voicing(speech: np.ndarray) -> None:
    feats = world.analyze(speech, sample_rate=SR)
    frames = speech.shape[0] // int(SR * world.FRAME_PERIOD_MS / 1000) + 1
    assert feats.n_frames == frames
    assert feats.mcep.shape == (frames, world.MCEP_DIMS[SR])
    assert feats.bap.shape == (frames, len(world.BAP_EDGES_HZ[SR]) - 1)
    assert 0.3 < feats.voiced.mean() < 0.95  # speech has voiced and unvoiced frames
    assert np.all(feats.bap <= 0.0)


def test_tone_f0_is_found() -> None:
    feats = world.analyze(tone(150.0, 1.0), sample_rate=SR)
    f0 = feats.f0_hz[feats.voiced]
    assert abs(np.median(f0) - 150.0) < 3.0
    assert np.array_equal(world.f0_contour(tone(150.0, 1.0), sample_rate=SR), feats.f0_hz)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_resynthesis_keeps_the_spectrum(speech: np.ndarray, rate: int) -> None:
    from guard.audio import resample

    y = resample(speech, orig_sr=SR, target_sr=rate)
    z = world.resynthesize(y, sample_rate=rate)
    assert z.shape == y.shape and z.dtype == np.float32
    a, b = world.analyze(y, sample_rate=rate), world.analyze(z, sample_rate=rate)
    assert world.mcd_db(a.mcep, b.mcep) < 0.5 * world.mcd_db(a.mcep, np.roll(a.mcep, 40, axis=0))


def test_band_aperiodicity_round_trip() -> None:
    n_bins = world.fft_size(SR) // 2 + 1
    ap = np.tile(np.linspace(0.01, 0.9, n_bins), (3, 1))
    bap = world.code_aperiodicity(ap, sample_rate=SR)
    back = world.decode_aperiodicity(bap, sample_rate=SR)
    assert back.shape == ap.shape
    assert np.all((back > 0) & (back <= 1))
    # interpolation between band centres keeps the trend, within a few dB
    assert np.max(np.abs(20 * np.log10(back[:, 50:-50]) - 20 * np.log10(ap[:, 50:-50]))) < 6.0


@pytest.mark.parametrize(
    ("y", "rate", "error"),
    [
        (np.zeros(100, np.float32), 22050, ParameterError),  # no WORLD setting for this rate
        (np.zeros((2, 800), np.float32), SR, AudioError),  # not mono
        (np.full(800, np.nan, np.float32), SR, AudioError),
        (np.zeros(10, np.float32), SR, AudioError),  # shorter than a frame
    ],
)
def test_analyze_rejects_bad_input(y: np.ndarray, rate: int, error: type) -> None:
    with pytest.raises(error):
        world.analyze(y, sample_rate=rate)


def test_synthesize_rejects_bad_features(speech: np.ndarray) -> None:
    feats = world.analyze(speech[:8000], sample_rate=SR)
    with pytest.raises(ParameterError, match="frame counts"):
        world.synthesize(world.WorldFeatures(feats.f0_hz, feats.mcep[:-1], feats.bap, SR))
    bad = feats.mcep.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ParameterError, match="mcep"):
        world.synthesize(world.WorldFeatures(feats.f0_hz, bad, feats.bap, SR))


def test_align_recovers_a_time_stretch(rng: np.random.Generator) -> None:
    a = np.cumsum(rng.standard_normal((120, 25)), axis=0)
    stretched = np.repeat(a, 2, axis=0)  # each source frame becomes two target frames
    result = align.align(a, stretched)
    assert result.cost_per_frame < 1e-6
    assert np.all(np.abs(result.source_to_target - 2 * np.arange(120)) <= 1)
    assert np.all(np.diff(result.source_to_target) >= 0)


def test_align_costs_more_for_other_content(rng: np.random.Generator) -> None:
    a = np.cumsum(rng.standard_normal((100, 25)), axis=0)
    noisy = a + 0.1 * rng.standard_normal(a.shape)
    other = np.cumsum(rng.standard_normal((100, 25)), axis=0)
    assert align.align(a, noisy).cost_per_frame < 0.5 * align.align(a, other).cost_per_frame


@pytest.mark.parametrize(("a", "b"), [((10, 5), (10, 6)), ((1, 5), (10, 5)), ((10,), (10,))])
def test_align_rejects_bad_shapes(a: tuple, b: tuple) -> None:
    with pytest.raises(ParameterError):
        align.align(np.zeros(a), np.zeros(b))


def test_mcd_zero_for_equal_and_rejects_mismatch(rng: np.random.Generator) -> None:
    a = rng.standard_normal((20, 10))
    assert world.mcd_db(a, a) == 0.0
    louder = a.copy()
    louder[:, 0] += 3.0  # energy is not part of MCD
    assert world.mcd_db(a, louder) == 0.0
    shifted = a.copy()
    shifted[:, 1] += 1.0
    assert world.mcd_db(a, shifted) == pytest.approx(10 / np.log(10) * np.sqrt(2))
    with pytest.raises(ParameterError):
        world.mcd_db(a, a[:5])
