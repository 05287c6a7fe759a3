"""Pieces of the watermark: the code and its check, the p-value bound, keyed patterns, quality metrics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import i0e

from eval.quality import bit_accuracy, pesq_wb, snr_db, stoi
from guard.errors import ParameterError
from guard.watermark import clipping, coding, features, stats
from guard.watermark.echo import GAIN_FACTORS, Echo, candidates, find_echoes, remove_echo
from guard.watermark.embed import _shaped_chips
from guard.watermark.layout import (
    CELLS_PER_SLOT,
    CODED_BITS,
    HOP,
    N_BANDS,
    PERIOD_SLOTS,
    STEP,
    band_matrix,
    pattern,
)


@pytest.mark.parametrize("payload", [0, 1, 0xDEADBEEF, (1 << 32) - 1])
def test_code_round_trip_with_noise(rng: np.random.Generator, payload: int) -> None:
    bits = coding.encode(payload)
    assert bits.shape == (CODED_BITS,)
    soft = (1.0 - 2.0 * bits) + 0.8 * rng.standard_normal(CODED_BITS)
    assert coding.decode(soft) == payload


def test_code_corrects_erasures_and_flips(rng: np.random.Generator) -> None:
    soft = 1.0 - 2.0 * coding.encode(0x12345678).astype(float)
    soft[rng.choice(CODED_BITS, 20, replace=False)] = 0.0
    soft[[3, 40, 77]] *= -1
    assert coding.decode(soft) == 0x12345678


def test_check_rejects_noise(rng: np.random.Generator) -> None:
    accepted = sum(coding.decode(rng.standard_normal(CODED_BITS)) is not None for _ in range(300))
    assert accepted <= 1  # CRC-16: about 300 / 65536 expected


def test_list_decoding_reads_more_payloads_and_never_a_wrong_one(rng: np.random.Generator) -> None:
    # At a noise level where plain Viterbi reads about a third of the payloads, keeping the
    # LIST_SIZE best paths reads over half; every payload it calls checked is the right one here.
    plain = listed = 0
    for _ in range(300):
        payload = int(rng.integers(1 << 32))
        soft = 0.9 * (1.0 - 2.0 * coding.encode(payload)) + rng.standard_normal(CODED_BITS)
        got, ok = coding.decode_bits(soft)
        plain += ok and got == payload
        got4, ok4, tried = coding.decode_list(soft, coding.LIST_SIZE)
        assert 1 <= tried <= coding.LIST_SIZE and (not ok4 or got4 == payload)
        listed += ok4
    assert listed >= 1.3 * plain and plain >= 50


def test_list_decoding_rejects_noise(rng: np.random.Generator) -> None:
    accepted = sum(coding.decode_list(rng.standard_normal(CODED_BITS), coding.LIST_SIZE)[1] for _ in range(300))
    assert accepted <= 3  # LIST_SIZE paths x CRC-16: about 300 * 8 / 65536 = 0.04 expected


def test_list_size_must_be_positive() -> None:
    with pytest.raises(ParameterError, match="size must be >= 1"):
        coding.decode_list(np.zeros(CODED_BITS), 0)


@pytest.mark.parametrize("payload", [0, 0x31323334, 0xDEADBEEF])
def test_crc_is_ccitt_false(payload: int) -> None:
    import binascii

    assert coding.crc16(payload) == binascii.crc_hqx(payload.to_bytes(4, "big"), 0xFFFF)


def _db(x: float) -> float:
    """dB of power -> natural-log power units."""
    return x * np.log(10) / 10


def test_group_weights_follow_level_band_and_noise_floor() -> None:
    logp = np.zeros((40, CELLS_PER_SLOT, N_BANDS))  # speech at 0 dB for 30 slots (1.9 s) ...
    logp[30:] = _db(-44.0)  # ... then a pause at -44 dB: every sub-band's noise floor
    logp[5, 2, 3] = _db(-40.0)  # one cell 40 dB below its neighbours, 4 dB above the floor
    logp[6, 0, 0] = _db(-47.0)  # beyond the 45 dB margin: the embedder marks nothing there
    logp[7, 1, 1] = _db(-20.0)  # within 20 dB: full weight
    logp[8, 3, 4] = _db(-42.0)  # 2 dB above the floor: halfway up the floor ramp
    w = features.weights(logp)
    assert w.shape == (40, N_BANDS)
    np.testing.assert_allclose(w[0], features.BAND_WEIGHT)  # loud groups weigh their band's weight
    assert w[5, 3] == pytest.approx((50.0 - 40.0) / 30.0)  # 0 at 50 dB below, 1 at 20 dB below
    assert w[6, 0] == 0.0 and w[7, 1] == pytest.approx(features.BAND_WEIGHT[1])
    assert w[8, 4] == pytest.approx((50.0 - 42.0) / 30.0 * (0.25 + 0.75 * 0.5))
    assert w[35, 2] == pytest.approx((50.0 - 44.0) / 30.0 * 0.25)  # the pause: at the floor
    # the embedder marks exactly the groups the verifier weighs
    assert np.array_equal(features.weights(logp, margin_db=features.EMBED_DB) > 0, w > 0)
    # audio under the silence floor (-75 dBFS) weighs nothing, however even it is
    assert not features.weights(np.full((12, CELLS_PER_SLOT, N_BANDS), _db(-120.0))).any()
    assert features.weights(np.zeros((0, CELLS_PER_SLOT, N_BANDS))).shape == (0, N_BANDS)


@pytest.mark.parametrize("n_frames", [1, features._BLOCK_FRAMES - 1, features._BLOCK_FRAMES, 2 * features._BLOCK_FRAMES + 3])
def test_analysis_in_blocks_matches_one_transform(rng: np.random.Generator, n_frames: int) -> None:
    # every frame's sub-band power, whatever block boundary it falls on, as one rfft of all frames gives it
    y = (0.1 * rng.standard_normal(n_frames * HOP)).astype(np.float32)
    spec = np.fft.rfft(features.frames(y, hop=HOP, first_centre=HOP // 2).astype(np.float64), axis=1)
    power = np.abs(spec) ** 2 @ band_matrix().astype(np.float64)
    a = features.analyse(y)
    assert a.cum.shape == (n_frames + 1, power.shape[1]) and a.n_samples == y.shape[0]
    np.testing.assert_allclose(np.diff(a.cum, axis=0), power, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("n", [1, 3, 200])
@pytest.mark.parametrize("share", [0.01, 0.3, 0.9, 0.999])
def test_chernoff_lambda_minimises_the_exponent(rng: np.random.Generator, n: int, share: float) -> None:
    # the bound is the minimum over lambda of exp(-lambda t) prod I0(lambda a): no lambda on a fine grid does better
    a = rng.uniform(0.1, 1.0, n)
    t = share * a.sum()
    bound, lam = stats._chernoff(t, a)
    grid = lam * np.exp(np.linspace(-3.0, 3.0, 6001))
    exponents = -grid * t + np.array([np.sum(np.log(i0e(g * a)) + g * a) for g in grid])
    assert lam > 0
    assert np.log(bound) <= exponents.min() + 1e-9


@pytest.mark.parametrize("sharp", [False, True])
@pytest.mark.parametrize("n", [20, 200])
def test_tail_bound_is_an_upper_bound(rng: np.random.Generator, n: int, sharp: bool) -> None:
    a = rng.uniform(0.2, 1.0, n)
    sims = (a * np.cos(rng.uniform(0, 2 * np.pi, (40000, n)))).sum(axis=1)
    for t in np.quantile(sims, [0.9, 0.99, 0.999]):
        tail = np.mean(sims >= t)
        # the sharp bound is within 20 % of the tail: allow for the simulation's own error
        slack = 3 * np.sqrt(tail / sims.size) if sharp else 0.0
        assert stats.tail_bound(float(t), a, sharp=sharp) >= tail - slack
    assert stats.tail_bound(0.0, a, sharp=sharp) == 1.0 and stats.tail_bound(float(a.sum()) + 1, a, sharp=sharp) == 0.0
    assert stats.tail_bound(1.0, np.zeros(3), sharp=sharp) == 1.0


def test_sharp_tail_bound_is_close_to_the_tail(rng: np.random.Generator) -> None:
    # 40 amplitudes, 2 million draws: the sharp bound stays above the tail (less three standard
    # errors of the simulation) and within 1.6x of it down to 1e-4, where the Chernoff bound is 8x above
    a = rng.uniform(0.2, 1.0, 40)
    sims = np.concatenate([(a * np.cos(rng.uniform(0, 2 * np.pi, (200_000, 40)))).sum(axis=1) for _ in range(10)])
    for q in (0.99, 0.999, 0.9999):
        t = float(np.quantile(sims, q))
        tail = float(np.mean(sims >= t))
        se = np.sqrt(tail / sims.size)
        sharp, chernoff = stats.tail_bound(t, a, sharp=True), stats.tail_bound(t, a)
        assert tail - 3 * se <= sharp <= 1.6 * (tail + 3 * se)
        assert chernoff > 4 * sharp


def test_sharp_tail_bound_near_the_verifier_threshold() -> None:
    # 169 equal amplitudes (the sync groups of a 3 s window) at 6.5 standard deviations:
    # the Gaussian tail is 4.0e-11, the Chernoff bound 3.3e-10
    a = np.ones(169)
    t = 6.5 * np.sqrt(0.5 * a.size)
    sharp, chernoff = stats.tail_bound(t, a, sharp=True), stats.tail_bound(t, a)
    assert chernoff > 10 * sharp and 1e-11 < sharp < 4e-11


@pytest.mark.parametrize("n", [1, 2, 3])
def test_sharp_tail_bound_falls_back_to_chernoff_for_few_terms(n: int) -> None:
    # one or two cosines have an unbounded density, so no density bound exists
    a = np.ones(n)
    assert stats.tail_bound(0.8 * n, a, sharp=True) == stats.tail_bound(0.8 * n, a)


def test_tail_bound_small_at_strong_evidence() -> None:
    assert stats.tail_bound(80.0, np.ones(200)) < 1e-12


def test_patterns_are_keyed_and_stable() -> None:
    a, b, a2 = pattern(b"a" * 32), pattern(b"b" * 32), pattern(b"a" * 32)
    assert a is a2 and not np.array_equal(a.dither, b.dither)
    assert a.dither.shape == (PERIOD_SLOTS, N_BANDS)
    assert np.allclose(a.chips.sum(axis=2), 0.0) and np.allclose((a.chips**2).sum(axis=2), 1.0)
    for cycle in (a.bit_index[:PERIOD_SLOTS], a.bit_index[PERIOD_SLOTS:]):  # each period carries every coded bit
        assert set(np.unique(cycle[~a.is_sync])) == set(range(CODED_BITS)) and np.all(cycle[a.is_sync] == -1)


def test_every_bit_is_read_in_both_band_halves() -> None:
    a = pattern(b"d" * 32)
    assert a.bit_index.shape == (2 * PERIOD_SLOTS, N_BANDS)
    bands = np.broadcast_to(np.arange(N_BANDS), a.bit_index.shape)
    for bit in range(CODED_BITS):
        low = bands[a.bit_index == bit] < N_BANDS // 2
        assert low.any() and (~low).any()  # a filter that removes one half leaves a copy


def test_any_period_long_window_holds_every_bit() -> None:
    a = pattern(b"e" * 32)
    cycle = np.concatenate([a.bit_index, a.bit_index])  # a window may wrap around the cycle
    for start in range(2 * PERIOD_SLOTS):
        window = cycle[start:start + PERIOD_SLOTS]
        assert set(np.unique(window[window >= 0])) == set(range(CODED_BITS))


def test_lattice_steps_grow_with_frequency_and_every_bit_fits_a_period() -> None:
    assert STEP.shape == (N_BANDS,) and np.all(np.diff(STEP) > 0) and not STEP.flags.writeable
    a = pattern(b"c" * 32)
    assert np.all((a.dither >= 0) & (a.dither < STEP[None, :]))
    assert int((~a.is_sync).sum()) >= CODED_BITS  # a period carries every coded bit at least once


def test_shaped_chips_meet_the_target_and_favour_quiet_cells() -> None:
    chips = pattern(b"a" * 32).chips[:3]  # (s, b, c)
    logp = np.zeros((3, CELLS_PER_SLOT, N_BANDS))
    logp[:, 0, :] = np.log(100.0)  # first cell of every group 20 dB louder than the others
    shaped = _shaped_chips(chips, logp)
    assert np.allclose((shaped * chips).sum(axis=2), 1.0)  # projection change per unit asked: exactly 1
    assert np.all(np.abs(shaped[..., 0]) < np.abs(shaped[..., 1]))
    level = _shaped_chips(chips, np.zeros_like(logp))
    assert np.allclose(level, chips)  # equal cells: the plain chips


def test_quality_metrics(rng: np.random.Generator) -> None:
    from cloner.tts import synthesize

    y = synthesize("Quality metrics need a little speech to score.", sample_rate=16000)
    noisy = (y + 0.001 * rng.standard_normal(y.shape[0])).astype(np.float32)
    assert snr_db(y, noisy, sample_rate=16000) == pytest.approx(
        10 * np.log10(np.sum(y.astype(np.float64) ** 2) / np.sum((noisy - y).astype(np.float64) ** 2)))
    assert snr_db(y, y, sample_rate=16000) == float("inf")
    assert pesq_wb(y, y, sample_rate=16000) > 4.5 > pesq_wb(y, (y + 0.05 * rng.standard_normal(y.shape[0])).astype(np.float32), sample_rate=16000)
    assert stoi(y, y, sample_rate=16000) > 0.99
    y48 = np.repeat(y, 3)
    assert pesq_wb(y48, y48, sample_rate=48000) > 4.5


@pytest.mark.parametrize(("expected", "decoded", "value"), [(5, 5, 1.0), (0, 1, 31 / 32), (0, None, 0.5), (0, (1 << 32) - 1, 0.0)])
def test_bit_accuracy(expected: int, decoded: int | None, value: float) -> None:
    assert bit_accuracy(expected, decoded) == value


@pytest.mark.parametrize(("call", "args"), [
    (bit_accuracy, (-1, 0)), (bit_accuracy, (0, 1 << 32)), (bit_accuracy, (True, 0)),
    (snr_db, (np.ones(10, np.float32), np.ones(11, np.float32))),
    (snr_db, (np.zeros(10, np.float32), np.ones(10, np.float32))),
    (pesq_wb, (np.zeros(16000, np.float32), np.zeros(16000, np.float32))),
])
def test_metric_bad_input(call, args: tuple) -> None:  # noqa: ANN001
    with pytest.raises(ParameterError):
        call(*args) if call is bit_accuracy else call(*args, sample_rate=16000)


def _babble(rng: np.random.Generator, seconds: float = 8.0) -> np.ndarray:
    """Speech-like noise: pink-ish noise under a 4 Hz syllable envelope, 16 kHz."""
    n = int(seconds * 16000)
    noise = np.cumsum(rng.standard_normal(n)) * 0.02
    noise -= np.convolve(noise, np.ones(400) / 400, mode="same")
    envelope = np.maximum(0.0, np.sin(2 * np.pi * 4 * np.arange(n) / 16000 + rng.uniform(0, 6))) ** 2
    return (noise * envelope).astype(np.float32)


def test_echo_found_and_undone(rng: np.random.Generator) -> None:
    x = _babble(rng)
    assert find_echoes(x) == []
    d = int(0.37 * 16000)
    y = x.copy()
    y[d:] += 0.6 * x[:-d]
    [echo] = find_echoes(y, limit=1)
    assert echo is not None and echo.delay == d and abs(echo.gain - 0.6) < 0.15
    np.testing.assert_allclose(remove_echo(y, Echo(d, 0.6)), x, atol=1e-5)
    residual = remove_echo(y, echo) - x
    assert np.sqrt(np.mean(residual**2)) < 0.25 * np.sqrt(np.mean((y - x) ** 2))


def test_echo_gain_estimate_on_a_short_crop(rng: np.random.Generator) -> None:
    # a 3 s crop of an echoed clip: the crop's first 0.5 s carries the echo of audio before it
    x = _babble(rng, seconds=4.0)
    d = 8000
    y = x.copy()
    y[d:] += 0.5 * x[:-d]
    [echo] = find_echoes(y[16000:], limit=1)
    assert echo is not None and echo.delay == d
    gains = [c.gain for c in candidates(echo)]
    assert len(gains) == len(GAIN_FACTORS) and gains[0] == echo.gain and gains == sorted(gains)
    assert min(abs(g - 0.5) for g in gains) < 0.03


def test_echo_of_audio_before_a_crop_is_taken_out(rng: np.random.Generator) -> None:
    # a crop that starts after loud audio: the inverse filter alone leaves that audio's echo
    # in every 0.5 s stretch (halving each time); remove_echo estimates it and takes it out
    x = _babble(rng, seconds=4.0)
    x[16000:] *= 0.1
    d = 8000
    y = x.copy()
    y[d:] += 0.5 * x[:-d]
    crop, truth = y[16000:], x[16000:]
    plain = crop.astype(np.float64).copy()
    for start in range(d, plain.shape[0], d):
        plain[start:start + d] -= 0.5 * plain[start - d:start]
    left_by_filter = np.sqrt(np.mean((plain - truth) ** 2))
    left = np.sqrt(np.mean((remove_echo(crop, Echo(d, 0.5)) - truth) ** 2))
    assert left < 0.3 * left_by_filter and left < 0.5 * np.sqrt(np.mean(truth**2))


def test_echo_shorter_than_a_frame_is_undone_by_the_inverse_filter_alone(rng: np.random.Generator) -> None:
    x = rng.standard_normal(16000).astype(np.float32)
    d = 480  # 30 ms, the shortest delay find_echoes reports
    y = x.copy()
    y[d:] += 0.6 * x[:-d]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(remove_echo(y, Echo(d, 0.6)), x, atol=1e-5)


def test_the_two_clearest_echoes_are_found_strongest_first(rng: np.random.Generator) -> None:
    x = _babble(rng)
    assert find_echoes(x) == []
    near, far = int(0.16 * 16000), int(0.5 * 16000)
    y = x.copy()
    y[near:] -= 0.6 * x[:-near]  # a strong inverted copy, like a clip's own repeating rhythm
    y[far:] += 0.4 * x[:-far]
    echoes = find_echoes(y)
    assert [e.delay for e in echoes] == [near, far]  # side lobes of the first are not a second echo
    assert echoes[0].gain < 0 < echoes[1].gain
    assert find_echoes(y, limit=1) == echoes[:1]


def test_a_strong_echo_is_not_found_twice(rng: np.random.Generator) -> None:
    x = _babble(rng)
    d = int(0.25 * 16000)
    y = x.copy()
    y[d:] += 0.7 * x[:-d]  # its rahmonic at 2d has height about -0.7**2 / 4, a "gain" of -0.25
    echoes = find_echoes(y)
    assert [e.delay for e in echoes] == [d]


def test_echo_candidates_keep_the_filter_stable() -> None:
    assert all(abs(c.gain) < 1 for c in candidates(Echo(800, -0.9)))


def test_echo_needs_room_in_the_clip(rng: np.random.Generator) -> None:
    x = _babble(rng, seconds=0.05)
    assert find_echoes(x) == []


def test_clipping_found_only_at_a_flat_top(rng: np.random.Generator) -> None:
    x = 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000) + 0.01 * rng.standard_normal(16000)
    assert clipping.clipped_samples(x) is None
    assert clipping.clipped_samples(np.zeros(100)) is None
    mask = clipping.clipped_samples(np.clip(3 * x, -0.5, 0.5))
    assert mask is not None and 0.3 < mask.mean() < 0.8


def test_clipping_slot_weights_and_rate() -> None:
    mask = np.zeros(5 * 1024, dtype=bool)
    mask[1024 + 5] = True  # 0.1 %
    mask[2048:2048 + 20] = True  # 2 %
    mask[3072:3072 + 100] = True  # 10 %
    mask[4096:4096 + 300] = True  # 29 %
    np.testing.assert_array_equal(clipping.slot_weights(mask, start=0, slot=1024, n_slots=5), [1.0, 0.95, 0.9, 0.75, 0.4])
    up = clipping.to_rate(mask, sample_rate=16000, target_rate=48000, n_target=3 * 5 * 1024)
    assert up.shape == (3 * 5 * 1024,) and up.sum() == 3 * mask.sum()


def test_clipping_correction_weights_and_crop() -> None:
    made_up_db = np.array([-np.inf, -20.0, -10.0, 1.0, 12.0, 30.0])
    np.testing.assert_allclose(clipping.correction_weights(made_up_db), [1.0, 1.0, 1.0, 0.5, 0.0, 0.0])
    restored = clipping.Restored(np.arange(10) % 3 == 0, np.arange(10, dtype=np.float32))
    part = restored.crop(2, 6)
    np.testing.assert_array_equal(part.mask, [False, True, False, False])
    np.testing.assert_array_equal(part.correction, [2, 3, 4, 5])
    # the correction's analysis is made once per clip and is the plain analysis of it
    long = clipping.Restored(np.zeros(4000, bool), np.sin(np.arange(4000, dtype=np.float32) / 7))
    first = long.correction_analysis
    assert long.correction_analysis is first
    np.testing.assert_array_equal(features.cell_log_power(first, 0),
                                  features.cell_log_power(features.analyse(long.correction), 0))


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_declip_restores_the_tops_and_keeps_the_rest(rng: np.random.Generator, rate: int) -> None:
    t = np.arange(rate) / rate
    x = (0.5 * np.sin(2 * np.pi * 220 * t) + 0.3 * np.sin(2 * np.pi * 330 * t + 1)
         + 0.001 * rng.standard_normal(rate)).astype(np.float32)
    clipped = np.clip(x, -0.5, 0.5)
    mask = clipping.clipped_samples(clipped)
    assert mask is not None and 0.2 < mask.mean() < 0.4
    restored = clipping.declip(clipped, mask, sample_rate=rate)
    assert restored.dtype == np.float32 and restored.shape == x.shape
    np.testing.assert_array_equal(restored[~mask], clipped[~mask])  # unclipped samples untouched
    level = np.abs(clipped[mask]).min()
    assert np.all(np.abs(restored[mask]) >= level)  # clipped ones at least at the clip level...
    assert np.all(np.sign(restored[mask]) == np.sign(clipped[mask]))  # ...on their own side
    assert snr_db(x, restored, sample_rate=rate) > snr_db(x, clipped, sample_rate=rate) + 15


def test_declip_of_a_long_clip_in_pieces(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    rate = 8000
    monkeypatch.setattr(clipping, "_CHUNK_S", 1.5)  # 10 s in 7 pieces
    t = np.arange(10 * rate) / rate
    x = (0.5 * np.sin(2 * np.pi * 220 * t) + 0.3 * np.sin(2 * np.pi * 330 * t + 1)
         + 0.001 * rng.standard_normal(t.size)).astype(np.float32)
    clipped = np.clip(x, -0.5, 0.5)
    mask = clipping.clipped_samples(clipped)
    restored = clipping.declip(clipped, mask, sample_rate=rate)
    assert restored.shape == x.shape
    np.testing.assert_array_equal(restored[~mask], clipped[~mask])
    assert np.all(np.abs(restored[mask]) >= np.abs(clipped[mask]).min())
    for piece in np.split(np.arange(t.size), 20):  # restored everywhere, piece edges included
        assert snr_db(x[piece], restored[piece], sample_rate=rate) > snr_db(x[piece], clipped[piece], sample_rate=rate) + 15


def test_declip_without_clipped_samples_or_shorter_than_a_frame(rng: np.random.Generator) -> None:
    x = rng.standard_normal(300).astype(np.float32)
    np.testing.assert_array_equal(clipping.declip(x, np.zeros(300, dtype=bool), sample_rate=16000), x)
    short = np.clip(x, -1.0, 1.0)
    mask = np.abs(short) >= 1.0
    restored = clipping.declip(short, mask, sample_rate=16000, iterations=5)
    assert restored.shape == (300,) and np.all(np.isfinite(restored))
    np.testing.assert_array_equal(restored[~mask], short[~mask])


def test_segmentation_keeps_long_evidence_and_drops_blips() -> None:
    from guard.watermark.localize import _runs, _two_state_path

    llr = np.full(60, -1.0)
    llr[20:35] = 2.0  # a marked stretch
    llr[45] = 4.0  # one lucky slot: less than two switches' cost
    assert _runs(_two_state_path(llr, 6.0)) == [(20, 35)]
    llr[26:29] = 0.0  # silence inside the marked stretch stays marked
    assert _runs(_two_state_path(llr, 6.0)) == [(20, 35)]
    assert not _two_state_path(np.full(10, -1.0), 6.0).any()


def test_segment_edges_move_to_the_middle_of_a_pause() -> None:
    from guard.watermark.localize import _centred_in_silence

    silent = np.zeros(40, dtype=bool)
    silent[10:20] = True  # a pause before the segment; its edge was put at the pause's start
    assert _centred_in_silence([(10, 30)], silent) == [(15, 30)]
    assert _centred_in_silence([(20, 30)], silent) == [(15, 30)]
    assert _centred_in_silence([(22, 30)], silent) == [(22, 30)]  # not touching the pause
    silent[:] = True
    assert _centred_in_silence([(10, 12)], silent) == []  # nothing but silence


def test_segment_edges_in_silence_at_the_clips_ends_go_to_the_sound() -> None:
    from guard.watermark.localize import _centred_in_silence

    silent = np.zeros(40, dtype=bool)
    silent[:8] = True  # leading and trailing silence: nothing there could be marked
    silent[33:] = True
    assert _centred_in_silence([(2, 36)], silent) == [(8, 33)]
    assert _centred_in_silence([(0, 40)], silent) == [(8, 33)]


def test_minus_keeps_the_uncovered_parts() -> None:
    from guard.watermark.pieces import _minus

    assert _minus((0.0, 10.0), [(2.0, 3.0), (6.0, 7.0)]) == [(0.0, 2.0), (3.0, 6.0), (7.0, 10.0)]
    assert _minus((2.0, 3.0), [(0.0, 10.0)]) == []
    assert _minus((0.0, 5.0), [(0.1, 5.0)]) == []  # what is left is shorter than 0.5 s
