"""The speaker's rate, pitch, pitch range and pauses, measured from the recordings and fed back into the TTS.

espeak-ng has no "speak at 140 Hz" knob, only a 0-99 pitch scale, so the scale is probed:
a sentence is rendered at three settings, its median F0 measured, and the setting whose
(log-)interpolated F0 is nearest the speaker's is chosen. Rate and intonation range scale
the defaults by the ratio of speech durations and of log-F0 spreads.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cloner import tts, world
from cloner.voice import TTSSettings

_PROBE = "The orange boat drifted slowly toward the quiet harbor at dawn."
_PROBE_PITCHES = (10, 50, 90)
_MIN_GAP_S = 0.15


def voiced_log_f0(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Log F0 of the voiced frames of ``y`` [shape=(k,)] (DIO + StoneMask)."""
    f0 = world.f0_contour(y, sample_rate=sample_rate)
    return np.log(f0[f0 > 0])


def estimate_tts_settings(
    recordings: Sequence[np.ndarray],
    texts: Sequence[str],
    *,
    sample_rate: int,
    language: str,
) -> TTSSettings:
    """Choose espeak-ng rate, pitch and range so the TTS resembles the speaker before conversion.

    Parameters
    ----------
    recordings : sequence of np.ndarray [shape=(n_i,)]
        Silence-trimmed recordings at ``sample_rate``.
    texts : sequence of str
        Their transcripts.
    sample_rate : int
    language : str
        espeak-ng voice for the TTS front end, e.g. ``"en-us"``.
    """
    from cloner.recordings import speech_seconds

    rec_speech_s = sum(speech_seconds(y, sample_rate=sample_rate) for y in recordings)
    renders = [tts.synthesize(t, voice=language, sample_rate=sample_rate) for t in texts]
    tts_speech_s = sum(speech_seconds(y, sample_rate=sample_rate) for y in renders)
    rate_wpm = int(np.clip(round(tts.DEFAULT_RATE_WPM * tts_speech_s / max(rec_speech_s, 1e-3)), 80, 450))

    target = np.concatenate([voiced_log_f0(y, sample_rate=sample_rate) for y in recordings])
    probe_medians = _probe(language, rate_wpm=rate_wpm, sample_rate=sample_rate)
    # espeak's scale is monotonic in F0: invert it by linear interpolation (clamped to 0-99).
    pitch = int(np.clip(round(np.interp(np.median(target), probe_medians, _PROBE_PITCHES,
                                        left=0, right=99)), 0, 99))
    source = np.concatenate([voiced_log_f0(y, sample_rate=sample_rate) for y in renders[:10]])
    spread = float(np.std(target)) / max(float(np.std(source)), 1e-3)
    pitch_range = int(np.clip(round(50 * spread), 10, 99))
    return TTSSettings(language=language, rate_wpm=rate_wpm, pitch=pitch, pitch_range=pitch_range)


def _probe(voice: str, *, rate_wpm: int, sample_rate: int) -> list[float]:
    """Median voiced log F0 of the probe sentence at each of :data:`_PROBE_PITCHES`."""
    return [float(np.median(voiced_log_f0(
        tts.synthesize(_PROBE, voice=voice, pitch=p, rate_wpm=rate_wpm, sample_rate=sample_rate),
        sample_rate=sample_rate))) for p in _PROBE_PITCHES]


def sentence_pause_s(recordings: Sequence[np.ndarray], *, sample_rate: int) -> float:
    """A pause to put between sentences: 1.5 x the median silent gap inside the recordings.

    Gaps are runs of frames more than 35 dB below the loud frames, at least 0.15 s long;
    without any, 0.35 s. Clamped to 0.25-0.8 s.
    """
    from cloner.recordings import FRAME_S, SPEECH_RANGE_DB, frame_levels_db

    gaps: list[float] = []
    for y in recordings:
        levels = frame_levels_db(y, sample_rate=sample_rate)
        quiet = levels < np.percentile(levels, 95) - SPEECH_RANGE_DB
        run = 0
        for q in quiet:
            if q:
                run += 1
                continue
            if run * FRAME_S >= _MIN_GAP_S:
                gaps.append(run * FRAME_S)
            run = 0
    if not gaps:
        return 0.35
    return float(np.clip(1.5 * np.median(gaps), 0.25, 0.8))
