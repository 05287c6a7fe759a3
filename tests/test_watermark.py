"""The keyed watermark: round trips at common rates, keys, crops, localization, bad input."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from conftest import tone

from eval.quality import snr_db
from guard.audio import resample
from guard.errors import AudioError, ParameterError, WatermarkError
from guard.watermark import MIN_PAYLOAD_S, MIN_PRESENCE_S, Verification, embed, verify

SR = 16000
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
PAYLOAD = 0x5EED_C0DE
# the verifier's module, whose constants some tests patch (the package exports the function
# ``verify`` under the same name)
VERIFY_MODULE = importlib.import_module("guard.watermark.verify")


@pytest.fixture(scope="module")
def speech10() -> np.ndarray:
    """About 10 s of espeak-ng speech (two voices) at 16 kHz, made in code."""
    from cloner.tts import synthesize

    a = synthesize("Every clip we make carries a mark and a signed record, so anyone can check "
                   "where a voice came from and who agreed to it.", voice="en-us", sample_rate=SR)
    b = synthesize("Seven small boats sailed past the harbour wall while the gulls circled overhead "
                   "and the rain moved in from the sea.", voice="en", pitch=35, sample_rate=SR)
    y = np.concatenate([a, b, a])[: 10 * SR]
    assert y.shape[0] == 10 * SR
    return y


@pytest.fixture(scope="module")
def marked10(speech10: np.ndarray) -> np.ndarray:
    return embed(speech10, sample_rate=SR, payload=PAYLOAD, key=KEY)


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_round_trip_at_rate(speech10: np.ndarray, rate: int) -> None:
    y = resample(speech10, orig_sr=SR, target_sr=rate)
    marked = embed(y, sample_rate=rate, payload=PAYLOAD, key=KEY)
    assert marked.shape == y.shape and marked.dtype == np.float32
    assert snr_db(y, marked, sample_rate=rate) > 22.0
    result = verify(marked, sample_rate=rate, keys=[KEY])
    assert result.detected and result.payload == PAYLOAD and result.key_index == 0
    assert result.p_value < 1e-6


def test_high_band_untouched_at_48k(speech10: np.ndarray) -> None:
    y = resample(speech10, orig_sr=SR, target_sr=48000)
    rng = np.random.default_rng(0)
    y = y + 0.01 * rng.standard_normal(y.shape[0]).astype(np.float32)  # content above 8 kHz
    diff = embed(y, sample_rate=48000, payload=1, key=KEY) - y
    spec = np.abs(np.fft.rfft(diff))
    f = np.fft.rfftfreq(diff.shape[0], 1 / 48000)
    assert spec[f > 9000].max() < 1e-3 * spec[(f > 300) & (f < 4000)].max()


def test_unmarked_and_wrong_key_not_detected(speech10: np.ndarray, marked10: np.ndarray) -> None:
    for y, keys in [(speech10, [KEY]), (marked10, [OTHER_KEY]), (marked10, [OTHER_KEY, b"x" * 32])]:
        result = verify(y, sample_rate=SR, keys=keys)
        assert not result.detected and result.payload is None and result.segments == []
        assert result.p_value > 1e-6


def test_rotated_keys_all_tried(marked10: np.ndarray) -> None:
    result = verify(marked10, sample_rate=SR, keys=[OTHER_KEY, KEY])
    assert result.detected and result.key_index == 1 and result.payload == PAYLOAD


@pytest.mark.parametrize("start_s", [0.0, 1.37, 4.01, 6.9])
def test_presence_in_any_3s_window(marked10: np.ndarray, start_s: float) -> None:
    i = int(start_s * SR)
    result = verify(marked10[i:i + 3 * SR], sample_rate=SR, keys=[KEY])
    assert result.detected


@pytest.mark.parametrize("start", [0, 12345, 31000])
def test_payload_wherever_the_window_starts(marked10: np.ndarray, start: int) -> None:
    result = verify(marked10[start:start + 7 * SR], sample_rate=SR, keys=[KEY])
    assert result.payload == PAYLOAD


def test_pieces_marked_out_of_step_are_all_listed(speech10: np.ndarray, marked10: np.ndarray) -> None:
    # two marked pieces joined with unmarked speech between them: the second starts at
    # another phase of the sync period than the first, so one hypothesis reads only one
    pieces = np.concatenate([marked10[:5 * SR], speech10[:4 * SR], marked10[2 * SR:7 * SR]])
    result = verify(pieces, sample_rate=SR, keys=[KEY])
    assert result.detected and result.payload == PAYLOAD
    truths = [(0.0, 5.0), (9.0, 14.0)]
    assert len(result.segments) == 2, result.segments
    assert all(_iou(seg, truth) >= 0.8 for seg, truth in zip(result.segments, truths)), result.segments
    # one marked piece: one segment, however the clip is cut
    assert len(verify(marked10[SR:9 * SR], sample_rate=SR, keys=[KEY]).segments) == 1


def test_pieces_of_another_payload_or_key_are_reported_apart(speech10: np.ndarray, marked10: np.ndarray) -> None:
    # clip A then clip B (another payload, or another key): the segments belong to the
    # reported mark, and the other clip's piece is an other_marks entry with its own payload
    other = embed(speech10, sample_rate=SR, payload=PAYLOAD ^ 0xFFFF, key=KEY)
    rotated = embed(speech10, sample_rate=SR, payload=PAYLOAD, key=OTHER_KEY)
    for second, marks in ((other, {(PAYLOAD, 0), (PAYLOAD ^ 0xFFFF, 0)}), (rotated, {(PAYLOAD, 0), (PAYLOAD, 1)})):
        result = verify(np.concatenate([marked10, second]), sample_rate=SR, keys=[KEY, OTHER_KEY])
        assert result.detected and len(result.segments) == 1 and len(result.other_marks) == 1, result
        first_is_a = (result.payload, result.key_index) == (PAYLOAD, 0)
        assert _iou(result.segments[0], (0.0, 10.0) if first_is_a else (10.0, 20.0)) >= 0.8, result
        piece = result.other_marks[0]
        assert {(result.payload, result.key_index), (piece.payload, piece.key_index)} == marks
        assert len(piece.segments) == 1 and _iou(piece.segments[0], (10.0, 20.0) if first_is_a else (0.0, 10.0)) >= 0.8
        assert result.to_dict()["other_marks"][0]["payload"] == f"{piece.payload:08x}"
    assert verify(marked10, sample_rate=SR, keys=[KEY]).other_marks == []


def test_long_clip_keeps_chunks_of_another_payload_apart(speech10: np.ndarray) -> None:
    # over 40 s a clip is read in 30 s chunks: a chunk of another payload is an other mark
    long = np.tile(speech10, 3)
    a = embed(long, sample_rate=SR, payload=PAYLOAD, key=KEY)
    b = embed(long, sample_rate=SR, payload=PAYLOAD ^ 1, key=KEY)
    result = verify(np.concatenate([a, b]), sample_rate=SR, keys=[KEY])
    assert result.detected and result.payload in (PAYLOAD, PAYLOAD ^ 1)
    own = (0.0, 30.0) if result.payload == PAYLOAD else (30.0, 60.0)
    assert all(s >= own[0] - 1.0 and e <= own[1] + 1.0 for s, e in result.segments), result.segments
    other = PAYLOAD ^ 1 if result.payload == PAYLOAD else PAYLOAD
    assert result.other_marks and {m.payload for m in result.other_marks} <= {other, None}, result.other_marks
    assert any(m.payload == other for m in result.other_marks)


def test_unmarked_speech_never_gets_segments(speech10: np.ndarray, rng: np.random.Generator) -> None:
    noise = (0.05 * rng.standard_normal(10 * SR)).astype(np.float32)
    for y in (speech10, noise, np.concatenate([speech10, noise])):
        result = verify(y, sample_rate=SR, keys=[KEY])
        assert not result.detected and result.segments == []


def test_segments_leave_leading_and_trailing_silence_out(marked10: np.ndarray) -> None:
    quiet = np.zeros(3 * SR, np.float32)
    result = verify(np.concatenate([quiet, marked10[:6 * SR], quiet]), sample_rate=SR, keys=[KEY])
    assert result.detected and len(result.segments) == 1
    start, stop = result.segments[0]
    assert abs(start - 3.0) <= 0.1 and abs(stop - 9.0) <= 0.2, result.segments


def test_localization_iou(marked10: np.ndarray) -> None:
    from cloner.tts import synthesize

    host = synthesize("Nobody marked this part of the recording; it is plain speech from a different "
                      "text, read slowly and clearly for the test.", voice="en-us", rate_wpm=150, sample_rate=SR)
    host = np.tile(host, 3)[: 10 * SR]
    # 2 s pieces (the localization case) and 3 s pieces (MIN_PRESENCE_S) at three
    # places. Over six renderings of this set-up (from before espeak-ng's output was made
    # independent of call history) every IoU was >= 0.79 and the median 0.96, so this
    # asserts a margin below that.
    ious = []
    for piece_s in (2.0, MIN_PRESENCE_S):
        for start_s in (2.0, 4.3, 6.0):
            spliced = host.copy()
            piece = marked10[3 * SR:3 * SR + int(piece_s * SR)]
            i = int(start_s * SR)
            spliced[i:i + piece.shape[0]] = piece
            result = verify(spliced, sample_rate=SR, keys=[KEY])
            truth = (start_s, start_s + piece_s)
            ious.append(max((_iou(seg, truth) for seg in result.segments), default=0.0))
    assert min(ious) >= 0.7, ious
    assert float(np.median(ious)) >= 0.85, ious


def _iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


@pytest.mark.parametrize("attack", ["white_noise_30db", "gain_x0.1", "resample_8k", "lowpass_3500hz", "splice", "telephone",
                                    "echo_0.5s"])
def test_payload_survives_attack(marked10: np.ndarray, attack: str) -> None:
    from eval.attacks import apply_attack

    result = verify(apply_attack(attack, marked10, sample_rate=SR, seed=3), sample_rate=SR, keys=[KEY])
    assert result.detected and result.payload == PAYLOAD


@pytest.mark.parametrize("attack", ["mp3_32k", "aac_32k"])
def test_codec_keeps_presence_and_never_a_wrong_payload(marked10: np.ndarray, attack: str) -> None:
    # After these codecs the exact payload comes back in 71-95 % of 10 s clips (bench
    # watermark), so one clip cannot promise it; what must hold on every clip is that the
    # mark is found and that the CRC never lets a wrong payload through.
    from eval.attacks import apply_attack

    result = verify(apply_attack(attack, marked10, sample_rate=SR, seed=0), sample_rate=SR, keys=[KEY])
    assert result.detected and result.p_value < 1e-6
    assert result.payload in (PAYLOAD, None)



def test_payload_check_completes_weak_presence(marked10: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    # When the sync groups alone give p above the threshold, a CRC-checked payload brings it
    # to p x readings x phases x paths x 2**-16. Which noise level lands there depends on the
    # exact speech, so the threshold is moved instead: just below the sync p-value of this
    # clip, which makes the path deterministic (the p-value's tightening near the threshold
    # is switched off here, so that the sync p-value stays the one measured first).
    monkeypatch.setattr(VERIFY_MODULE, "_SHARPEN_UP_TO", 0.0)
    p_sync = verify(marked10, sample_rate=SR, keys=[KEY]).p_value
    monkeypatch.setattr(VERIFY_MODULE, "P_THRESHOLD", p_sync / 100)
    result = verify(marked10, sample_rate=SR, keys=[KEY])
    assert result.detected and result.payload == PAYLOAD
    assert "payload check" in result.reason
    assert result.p_value == pytest.approx(p_sync * 4 * 2 * 8 * 2.0**-16, rel=1e-9, abs=0.0)
    assert result.p_value <= p_sync / 100
    assert result.segments
    wrong = verify(marked10, sample_rate=SR, keys=[OTHER_KEY])
    assert not wrong.detected and wrong.payload is None


def test_presence_reads_the_data_groups_too(marked10: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    # Either payload bit puts a data group's doubled angle on its dither, so counting those
    # groups strengthens presence; the same 3 s window read with the sync groups alone
    # gives a p-value many orders of magnitude larger (1e-75 against 1e-61 here)
    window = marked10[2 * SR:5 * SR]
    both = verify(window, sample_rate=SR, keys=[KEY])
    monkeypatch.setattr(VERIFY_MODULE, "_DATA_WEIGHT", 0.0)
    sync_only = verify(window, sample_rate=SR, keys=[KEY])
    assert both.detected and both.p_value < sync_only.p_value * 1e-8


def test_doubled_angles_are_uniform_under_a_wrong_key(marked10: np.ndarray) -> None:
    # The analytic p-value needs every angle the statistic reads, doubled or not, to be
    # uniform when the key is not the one that marked the clip: its weighted score then
    # has mean 0 and variance half the sum of squared weights, over many wrong keys
    from guard.watermark import features

    logps = [features.cell_log_power(features.analyse(marked10), 0)]
    ws = [features.weights(logps[0])]
    z = []
    for k in range(200):
        scorer = VERIFY_MODULE._Scorer(logps, ws, bytes([k, 7]) * 16)
        scores, amplitudes = scorer.slot_scores(0)
        weights = scorer.presence_weights(0, 0)
        assert np.allclose(amplitudes[0], weights.sum(axis=1))
        z.append(scores[0].sum() / np.sqrt(0.5 * (weights**2).sum()))
    assert abs(np.mean(z)) < 0.25 and 0.75 < np.std(z) < 1.25
    scorer = VERIFY_MODULE._Scorer(logps, ws, KEY)
    assert scorer.slot_scores(0)[0][0].sum() / np.sqrt(0.5 * (scorer.presence_weights(0, 0) ** 2).sum()) > 20


def test_p_value_is_tightened_near_the_threshold(marked10: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    # 3 s windows of the marked clip under strong noise or low-rate codecs: the first whose
    # Chernoff p-value lies between the threshold and the tightening's upper limit is
    # reported with a p-value at least 5x smaller by default (10-20x where sums are near
    # Gaussian), and the decision follows the tightened value
    from eval.attacks import apply_attack

    tried = []
    for attack in ("white_noise_10db", "mp3_16k", "opus_16k"):
        attacked = apply_attack(attack, marked10, sample_rate=SR, seed=0)
        for start_s in range(0, 8):
            window = attacked[start_s * SR:(start_s + 3) * SR]
            with monkeypatch.context() as m:
                m.setattr(VERIFY_MODULE, "_SHARPEN_UP_TO", 0.0)
                loose = verify(window, sample_rate=SR, keys=[KEY])
            tried.append(loose.p_value)
            if 10 * VERIFY_MODULE.P_THRESHOLD < loose.p_value < VERIFY_MODULE._CHECK_GATE:
                tight = verify(window, sample_rate=SR, keys=[KEY])
                assert tight.p_value <= loose.p_value / 5
                assert tight.detected == (tight.p_value <= VERIFY_MODULE.P_THRESHOLD)
                return
    pytest.fail(f"no window with a p-value near the threshold among {sorted(tried)}")


@pytest.mark.parametrize("name", ["noise", "tone", "chirp_like", "clicks"])
def test_no_false_detection_on_other_signals(name: str) -> None:
    rng = np.random.default_rng(7)
    n = 6 * SR
    if name == "noise":
        y = 0.1 * rng.standard_normal(n).astype(np.float32)
    elif name == "tone":
        y = tone(440.0, 6.0) + tone(1320.0, 6.0, amplitude=0.1)
    elif name == "chirp_like":
        t = np.arange(n) / SR
        y = (0.3 * np.sin(2 * np.pi * (200 * t + 300 * t**2))).astype(np.float32)
    else:
        y = np.zeros(n, np.float32)
        y[rng.integers(0, n, 60)] = 0.9
    result = verify(y, sample_rate=SR, keys=[KEY, OTHER_KEY])
    assert not result.detected and result.payload is None


def test_embed_too_short_names_minimum(speech10: np.ndarray) -> None:
    with pytest.raises(WatermarkError, match=f"at least {MIN_PAYLOAD_S} s"):
        embed(speech10[: int(2.0 * SR)], sample_rate=SR, payload=1, key=KEY)


def test_embed_silent_says_nothing_to_mark() -> None:
    with pytest.raises(WatermarkError, match="nothing to mark"):
        embed(np.zeros(5 * SR, np.float32), sample_rate=SR, payload=1, key=KEY)


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"payload": -1}, ParameterError),
    ({"payload": 1 << 32}, ParameterError),
    ({"payload": True}, ParameterError),
    ({"payload": 1.5}, ParameterError),
    ({"key": b""}, ParameterError),
    ({"key": b"a"}, ParameterError),
    ({"key": b"k" * 15}, ParameterError),
    ({"key": "text"}, ParameterError),
    ({"strength": float("nan")}, ParameterError),
    ({"strength": "0.5"}, ParameterError),
    ({"strength": np.float32(0.5), "payload": np.uint32(9)}, None),
    ({"strength": 0.0}, ParameterError),
    ({"strength": 1.5}, ParameterError),
    ({"sample_rate": 0}, ParameterError),
    ({"sample_rate": 16000.0}, ParameterError),
    ({"payload": 0}, None),
    ({"payload": (1 << 32) - 1, "strength": 0.5}, None),
])
def test_embed_arguments(speech10: np.ndarray, kwargs: dict, error: type | None) -> None:
    args = {"sample_rate": SR, "payload": 7, "key": KEY, **kwargs}
    if error is None:
        assert embed(speech10[: 4 * SR], **args).shape == (4 * SR,)
    else:
        with pytest.raises(error):
            embed(speech10[: 4 * SR], **args)


@pytest.mark.parametrize("bad", [np.full(4 * SR, np.nan, np.float32), np.zeros((2, 4 * SR), np.float32), [0.0] * 100,
                                 np.full(4 * SR, 1e300)])
def test_bad_arrays_raise_audio_error(bad: object) -> None:
    with pytest.raises(AudioError):
        embed(bad, sample_rate=SR, payload=1, key=KEY)
    with pytest.raises(AudioError):
        verify(bad, sample_rate=SR, keys=[KEY])


def test_verify_short_and_silent_clips_answer_with_reason(speech10: np.ndarray) -> None:
    for y, words in [(speech10[: SR // 2], f"too short to look for the mark (looked for from 1 s, found reliably "
                                           f"from {MIN_PRESENCE_S:g} s)"), (np.zeros(0, np.float32), "too short"),
                     (np.zeros(5 * SR, np.float32), "silent")]:
        result = verify(y, sample_rate=SR, keys=[KEY])
        assert isinstance(result, Verification) and not result.detected and words in result.reason


@pytest.mark.parametrize("keys", [[], b"abc", [b""], ["text"], None])
def test_verify_bad_keys(speech10: np.ndarray, keys: object) -> None:
    with pytest.raises(ParameterError):
        verify(speech10[: 4 * SR], sample_rate=SR, keys=keys)


def test_to_dict_contract(marked10: np.ndarray) -> None:
    d = verify(marked10, sample_rate=SR, keys=[KEY]).to_dict(file="a.wav")
    assert {"file", "detected", "payload", "p_value", "segments", "reason"} <= set(d)
    assert d["file"] == "a.wav" and d["payload"] == f"{PAYLOAD:08x}" and len(d["payload"]) == 8
    assert all(len(seg) == 2 and seg[0] < seg[1] for seg in d["segments"])
    assert Verification(False, None, 1.0).to_dict()["payload"] is None


def test_embed_is_deterministic(speech10: np.ndarray) -> None:
    a = embed(speech10[: 4 * SR], sample_rate=SR, payload=9, key=KEY)
    b = embed(speech10[: 4 * SR], sample_rate=SR, payload=9, key=KEY)
    assert np.array_equal(a, b)


def test_long_clip_verified_in_chunks(speech10: np.ndarray, marked10: np.ndarray) -> None:
    host = np.tile(speech10[::-1], 7).copy()  # 70 s of unmarked (reversed) speech
    host[41 * SR:51 * SR] = marked10
    result = verify(host, sample_rate=SR, keys=[KEY])
    assert result.detected and result.payload == PAYLOAD and "chunks" in result.reason
    assert max(_iou(seg, (41.0, 51.0)) for seg in result.segments) >= 0.8
    assert not verify(np.tile(speech10[::-1], 7), sample_rate=SR, keys=[KEY]).detected


def test_echo_is_undone_before_reading(marked10: np.ndarray) -> None:
    from eval.attacks import apply_attack

    v = verify(apply_attack("echo_0.5s", marked10, sample_rate=SR, seed=0), sample_rate=SR, keys=[KEY])
    assert v.payload == PAYLOAD and "echo of 0.50 s" in v.reason


@pytest.mark.parametrize("n_echoes", [1, 2])
def test_echo_readings_split_the_false_alarm_budget(marked10: np.ndarray, monkeypatch: pytest.MonkeyPatch,
                                                   n_echoes: int) -> None:
    # Speech can show an echo-like cepstral peak without any echo; reading the clip as it is
    # then pays 2x (half the budget), however many undone versions share the other half
    from guard.watermark.echo import Echo

    plain = verify(marked10, sample_rate=SR, keys=[KEY])
    fake = [Echo(4000 + 1000 * i, 0.3) for i in range(n_echoes)]
    monkeypatch.setattr(VERIFY_MODULE, "find_echoes", lambda y16: fake)
    v = verify(marked10, sample_rate=SR, keys=[KEY])
    assert v.payload == PAYLOAD and "echo" not in v.reason  # undoing an echo that is not there helps nothing
    assert v.p_value == pytest.approx(2 * plain.p_value, rel=1e-9, abs=0.0)


def test_clipped_audio_is_restored_before_reading(marked10: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """Turned up 6x into a clip level (9 % of samples clipped): read after restoring the tops, not without."""
    import guard.watermark.clipping as clipping

    clipped = np.clip(marked10 * (6 * 0.9 / np.abs(marked10).max()), -0.9, 0.9)
    v = verify(clipped, sample_rate=SR, keys=[KEY])
    assert v.detected and v.payload == PAYLOAD
    monkeypatch.setattr(clipping, "declip", lambda y, mask, *, sample_rate: y)
    unrestored = verify(clipped, sample_rate=SR, keys=[KEY])
    assert unrestored.p_value > 1e10 * v.p_value
    monkeypatch.setattr(clipping, "clipped_samples", lambda y: None)
    blind = verify(clipped, sample_rate=SR, keys=[KEY])
    assert blind.payload != PAYLOAD and blind.p_value > 1e10 * v.p_value


def test_groups_the_declipper_made_up_weigh_less(marked10: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """Turned up 20x into a clip level (30 % of samples clipped): the groups whose power is mostly restored tops count less."""
    import guard.watermark.clipping as clipping

    clipped = np.clip(marked10 * (20 * 0.9 / np.abs(marked10).max()), -0.9, 0.9)
    v = verify(clipped, sample_rate=SR, keys=[KEY])
    assert v.payload == PAYLOAD
    monkeypatch.setattr(clipping, "_MADE_UP_FLOOR", 1.0)  # every group at full weight
    flat = verify(clipped, sample_rate=SR, keys=[KEY])
    assert v.p_value < 1e-4 * flat.p_value


def _played_at(y: np.ndarray, factor: float) -> np.ndarray:
    """``y`` played back ``factor`` times as fast (pitch and tempo together), as eval.attacks' speed attack does."""
    return resample(y, orig_sr=int(round(SR * factor)), target_sr=SR)


def test_speed_candidates_cover_the_range_within_a_quarter_percent() -> None:
    factors = np.sort(np.array(VERIFY_MODULE.SPEED_FACTORS))
    grid = np.linspace(0.94, 1.06, 2401)
    assert np.abs(grid[:, None] - np.append(factors, 1.0)[None, :]).min(axis=1).max() <= 0.0025 + 1e-12
    assert np.allclose(SR * factors, np.round(SR * factors), rtol=0.0, atol=1e-6)  # whole rates: exact resampling ratios
    assert np.all(np.diff(np.abs(np.array(VERIFY_MODULE.SPEED_FACTORS) - 1.0)) >= 0)  # closest to 1 first


@pytest.mark.parametrize("factor", [0.95, 1.0315])
def test_speed_change_found_by_speed_search(marked10: np.ndarray, factor: float) -> None:
    played = _played_at(marked10, factor)
    assert not verify(played, sample_rate=SR, keys=[KEY]).detected  # the plain reading cannot see it
    v = verify(played, sample_rate=SR, keys=[KEY], speed_search=True)
    assert v.detected and v.payload == PAYLOAD and abs(v.speed - factor) <= VERIFY_MODULE.SPEED_STEP  # the best reading: within one step
    assert "speed" in v.reason and v.to_dict()["speed"] == v.speed
    # the search pays for its candidates: half the budget over 24 of them, 48x the plain reading's p
    undone = resample(played, orig_sr=SR, target_sr=int(round(SR * v.speed)))
    assert v.p_value == pytest.approx(48 * verify(undone, sample_rate=SR, keys=[KEY]).p_value, rel=1e-9, abs=0.0)


def test_speed_search_segments_are_in_the_clips_own_time(speech10: np.ndarray, marked10: np.ndarray) -> None:
    host = speech10[::-1].copy()  # unmarked (reversed) speech
    host[3 * SR:8 * SR] = marked10[2 * SR:7 * SR]
    factor = 1.05
    v = verify(_played_at(host, factor), sample_rate=SR, keys=[KEY], speed_search=True)
    assert v.detected
    assert max(_iou(seg, (3.0 / factor, 8.0 / factor)) for seg in v.segments) >= 0.8


def test_speed_search_pays_half_the_budget_when_nothing_was_changed(speech10: np.ndarray, marked10: np.ndarray) -> None:
    plain = verify(marked10, sample_rate=SR, keys=[KEY])
    searched = verify(marked10, sample_rate=SR, keys=[KEY], speed_search=True)
    assert searched.payload == PAYLOAD and searched.speed == 1.0 and "speed" not in searched.reason
    assert searched.p_value == pytest.approx(2 * plain.p_value, rel=1e-9, abs=0.0)
    for y, keys in [(speech10[: 4 * SR], [KEY]), (_played_at(marked10, 0.96)[: 4 * SR], [OTHER_KEY])]:
        unmarked = verify(y, sample_rate=SR, keys=keys, speed_search=True)
        assert not unmarked.detected and unmarked.speed == 1.0 and unmarked.p_value > 1e-6


def test_a_numpy_float_strength_is_named_by_its_value() -> None:
    with pytest.raises(ParameterError, match=r"strength must be within \(0, 1\], given strength=1.5"):
        embed(np.zeros(4 * SR, np.float32), sample_rate=SR, payload=1, key=KEY, strength=np.float32(1.5))
