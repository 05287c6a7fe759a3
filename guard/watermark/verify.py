"""Find the keyed mark in any window of at least 3 s: presence with a p-value, then the payload.

The public entry and its decisions: input checks, the clip's readings (as it is, with each
echo undone, at other playback speeds, in chunks when long), the false-alarm budget they
share, and the thresholds. The statistic is :mod:`guard.watermark.scorer`, the search over
windows :mod:`guard.watermark.presence`, the payload :mod:`guard.watermark.payload`, the
segments :mod:`guard.watermark.localize` and :mod:`guard.watermark.pieces`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TypeVar

import numpy as np

from guard.audio import check_sample_rate, resample, valid_audio
from guard.errors import ParameterError
from guard.watermark import clipping, coding, features
from guard.watermark.echo import candidates as echo_candidates
from guard.watermark.echo import find_echoes, remove_echo
from guard.watermark.layout import HOP, OFFSETS, PERIOD_SLOTS, RATE, SLOT, check_key
from guard.watermark.levels import made_up_db
from guard.watermark.localize import localize
from guard.watermark.payload import CRC_CHANCE, read_payload
from guard.watermark.pieces import more_segments
from guard.watermark.presence import TESTS_PER_STEP, search
from guard.watermark.result import OtherMark, Verification, join

# Every Scorer is built with this module's _DATA_WEIGHT, and every search is given its
# P_THRESHOLD and _SHARPEN_UP_TO, so that a value changed here (tests do) holds throughout.
from guard.watermark.scorer import DATA_WEIGHT as _DATA_WEIGHT
from guard.watermark.scorer import Scorer as _Scorer

_T = TypeVar("_T")

MIN_PRESENCE_S = 3.0
P_THRESHOLD = 1e-6  # per 3 s window, after correcting for offsets, phases and keys
MIN_TRY_S = 1.0
_CHUNK_S = 30  # longer clips are verified in chunks, with this overlap:
_OVERLAP_S = 4
# a clip whose presence statistic alone gives p up to this is read; a payload whose CRC checks
# then lowers p by the chance of that check (4 readings x 2 data phases x LIST_SIZE paths
# x 2**-16: payload.CRC_CHANCE), see _verify16
_CHECK_GATE = P_THRESHOLD / CRC_CHANCE
# the best window's p-value is tightened (stats.tail_bound(sharp=True), some ms) when it lies
# between P_THRESHOLD and this: the tightening (up to about 20x) can bring it under the
# threshold or under _CHECK_GATE
_SHARPEN_UP_TO = 30 * _CHECK_GATE
# Share of the false-alarm budget for reading a clip as it is when other versions of it are
# read too (echoes undone, other playback speeds; those share the rest). Espeak-ng speech
# shows an echo-like cepstral peak in 8-19 % of unattacked 3 s windows (30 clips); with an
# equal share per reading those paid for 11 readings instead of 2.
_AS_IS_SHARE = 0.5
# Speed search (verify(speed_search=True)): playback speed factors tried besides 1, every
# SPEED_STEP from 0.25 % to 5.75 % each way, closest to 1 first. Resampling by the exact
# inverse gives the mark back whole; a factor 0.25 % off keeps every payload of 8 espeak-ng
# clips played at x1.05 and costs about a third of a 3 s window's log p-value, 0.5 % off
# still finds presence but loses most payloads, so no speed in the range is farther than
# 0.25 % from a candidate. The clip as it is keeps _AS_IS_SHARE of the false-alarm budget;
# the candidates share the rest.
SPEED_STEP = 0.005
SPEED_FACTORS = tuple(sorted((1.0 + sign * SPEED_STEP * (0.5 + k) for k in range(12) for sign in (1, -1)),
                             key=lambda f: (abs(f - 1.0), f)))


def _check_keys(keys: object) -> list[bytes]:
    if isinstance(keys, (bytes, bytearray)) or not isinstance(keys, Sequence) or len(keys) == 0:
        raise ParameterError("keys must be a non-empty sequence of bytes keys (e.g. home.watermark_keys())")
    return [check_key(k, name=f"keys[{i}]") for i, k in enumerate(keys)]


def verify(y: np.ndarray, *, sample_rate: int, keys: Sequence[bytes], speed_search: bool = False) -> Verification:
    """Look for the mark of any of ``keys`` in ``y``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``sample_rate``; the mark is found in any window of at least
        :data:`MIN_PRESENCE_S` seconds, the payload in about 10 s after common attacks.
    sample_rate : int > 0
    keys : sequence of bytes
        Every key to try (a home's ``watermark_keys()``); the correction for trying them
        all is included in ``p_value``.
    speed_search : bool
        When the clip as it is gives no payload, also read it at every playback speed of
        :data:`SPEED_FACTORS` (x0.94-x1.06: a change of speed that moves pitch and tempo
        together, as a resampled file played at the wrong rate does) by resampling it back;
        ``speed`` then says which factor was undone and ``segments`` are in the clip's own
        time. About 25 times slower on unmarked audio; the p-value pays for the candidates.

    Notes
    -----
    Presence is tested in every 3 s window (steps of 1 s), every 2 s window (steps of
    0.5 s) and the whole clip, at every grid offset (16 per slot), period phase (48) and
    key. When the clip carries a strong discrete echo
    (:func:`guard.watermark.echo.find_echoes`: the two clearest cepstral peaks), the clip
    with each echo undone at a few gains is read too and the best reading kept; the
    false-alarm budget is split between the readings (half for the clip as it is, half
    shared by the undone versions), so each reading's p-value is multiplied by the inverse
    of its share. A clipped clip has its cut tops restored first
    (:func:`guard.watermark.clipping.declip`, about 1 s of CPU per 10 s at 16 kHz); slots
    with clipped samples weigh less, and so do groups whose power the restoring mostly made
    up (:func:`guard.watermark.clipping.correction_weights`). Under "no mark of these keys"
    the sync groups' angles against their keyed dithers, and the data groups' doubled
    angles, are uniform whatever the audio, so a Chernoff bound
    (:func:`guard.watermark.stats.tail_bound`) on the weighted sum of their cosines is an
    analytic p-value; it is multiplied by offsets x phases x keys x 3
    (the windows per 1 s step) and the smallest over windows is reported. A clip of T
    seconds holds about T - 1 steps, so its false-alarm rate is at most about
    (T - 1) x :data:`P_THRESHOLD`. Near the threshold the best window's bound is tightened
    by exponential tilting (``stats.tail_bound(sharp=True)``), which the Chernoff bound
    overstates some 10-20 times there.

    Returns
    -------
    Verification
        Short or silent clips give ``detected=False`` with the reason; never raises for them.

    Raises
    ------
    AudioError, ParameterError
        For an array that is not mono finite float audio, a bad rate or bad keys.
    """
    sample_rate = check_sample_rate(sample_rate)
    keys = _check_keys(keys)
    y = valid_audio(y, sample_rate=sample_rate, min_samples=0) if np.size(y) == 0 else valid_audio(y, sample_rate=sample_rate)
    duration_s = y.shape[0] / sample_rate
    if duration_s < MIN_TRY_S:
        return Verification(False, None, 1.0, [], f"clip is {duration_s:.2f} s, too short to look for the mark "
                                                  f"(looked for from {MIN_TRY_S:g} s, found reliably from "
                                                  f"{MIN_PRESENCE_S:g} s)")
    mask = clipping.clipped_samples(y)
    clipped = None
    if mask is None:
        y16 = resample(y, orig_sr=sample_rate, target_sr=RATE)
    else:
        restored = clipping.declip(y, mask, sample_rate=sample_rate)
        y16 = resample(restored, orig_sr=sample_rate, target_sr=RATE)
        correction = resample(restored - y.astype(np.float32), orig_sr=sample_rate, target_sr=RATE)
        clipped = clipping.Restored(clipping.to_rate(mask, sample_rate=sample_rate, target_rate=RATE, n_target=y16.shape[0]),
                                    correction)  # as long as y16: resampled from as many samples
    if not speed_search:
        return _read(y16, clipped, keys, duration_s=duration_s, multiplicity=1.0)
    return _search_speed(y16, clipped, keys, duration_s=duration_s)


def _search_speed(y16: np.ndarray, clipped: clipping.Restored | None, keys: list[bytes], *, duration_s: float) -> Verification:
    """:func:`verify` with ``speed_search``: the clip as it is, then resampled back from each speed factor."""
    best = _read(y16, clipped, keys, duration_s=duration_s, multiplicity=1.0 / _AS_IS_SHARE)
    if best.payload is not None:
        return best
    multiplicity = len(SPEED_FACTORS) / (1.0 - _AS_IS_SHARE)

    def readings() -> Iterator[tuple[float, Verification]]:
        first_read = None
        for factor in SPEED_FACTORS:
            if first_read is not None and abs(factor - first_read) > 1.5 * SPEED_STEP:
                continue  # once a payload is read, only that candidate's neighbours can read it better
            # a clip played at x factor is the marked one resampled by 1 / factor: undo that
            undone = resample(y16, orig_sr=RATE, target_sr=int(round(RATE * factor)))
            reading = _read(undone, None, keys, duration_s=duration_s * factor, multiplicity=multiplicity)
            if first_read is None and reading.payload is not None:
                first_read = factor
            yield factor, reading

    best, used = _best_of(best, readings())
    if used is None:
        return best
    def own_time(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(round(a / used, 3), round(min(b / used, duration_s), 3)) for a, b in spans]

    others = [replace(m, segments=own_time(m.segments)) for m in best.other_marks]
    return replace(best, segments=own_time(best.segments), speed=used, other_marks=others,
                   reason=f"{best.reason} (played at x{used:.4f} speed: undone before reading)")


def _read(y16: np.ndarray, clipped: clipping.Restored | None, keys: list[bytes], *, duration_s: float,
          multiplicity: float) -> Verification:
    """Read a 16 kHz clip as it is and, when it carries strong echoes, with each echo undone.

    This reading gets ``1 / multiplicity`` of the false-alarm budget (see :func:`_verify16`).
    """
    echoes = find_echoes(y16) if duration_s >= MIN_PRESENCE_S else []
    if not echoes:
        return _verify_any(y16, clipped, keys, duration_s=duration_s, multiplicity=multiplicity)
    # read the clip and the clip with each echo undone at a few gains; the false-alarm budget
    # is split between the readings (a union bound): half for the clip as it is, the other
    # half shared by the undone versions
    undo = [c for echo in echoes for c in echo_candidates(echo)]
    as_is = _verify_any(y16, clipped, keys, duration_s=duration_s, multiplicity=multiplicity / _AS_IS_SHARE)
    each = multiplicity * len(undo) / (1.0 - _AS_IS_SHARE)
    best, used = _best_of(as_is, ((c, _verify_any(remove_echo(y16, c), clipped, keys, duration_s=duration_s,
                                                   multiplicity=each)) for c in undo))
    if used is None:
        return best
    note = f" (after undoing an echo of {used.delay / RATE:.2f} s at {used.gain:+.2f})"
    return replace(best, reason=best.reason + note)


def _best_of(first: Verification, others: Iterable[tuple[_T, Verification]]) -> tuple[Verification, _T | None]:
    """The best of ``first`` and the readings of ``others`` (by :func:`_rank`), and the tag of the one kept (None: ``first``).

    ``others`` yields (what was undone, its reading) and is read lazily, in order: ties keep
    the earlier reading.
    """
    best, used = first, None
    for tag, reading in others:
        if _rank(reading) < _rank(best):
            best, used = reading, tag
    return best, used


def _rank(v: Verification) -> tuple[bool, bool, float]:
    """Sort key, smaller is better: payload read, then detected, then p-value."""
    return (v.payload is None, not v.detected, v.p_value)


def _verify_any(y16: np.ndarray, clipped: clipping.Restored | None, keys: list[bytes], *, duration_s: float,
                multiplicity: float) -> Verification:
    if y16.shape[0] <= _CHUNK_S * RATE * 4 / 3:
        return _verify16(y16, clipped, keys, duration_s=duration_s, multiplicity=multiplicity)
    return _verify_long(y16, clipped, keys, multiplicity=multiplicity)


def _verify_long(y16: np.ndarray, clipped: clipping.Restored | None, keys: list[bytes], *,
                 multiplicity: float) -> Verification:
    """Verify a long 16 kHz clip in overlapping chunks of about :data:`_CHUNK_S` seconds (bounded memory)."""
    n, overlap = y16.shape[0], _OVERLAP_S * RATE
    k = int(np.ceil((n - overlap) / (_CHUNK_S * RATE - overlap)))
    length = int(np.ceil((n + (k - 1) * overlap) / k))
    starts = [min(i * (length - overlap), n - length) for i in range(k)]
    results = [(s0, _verify16(y16[s0:s0 + length], None if clipped is None else clipped.crop(s0, s0 + length), keys,
                               duration_s=length / RATE, multiplicity=multiplicity)) for s0 in starts]
    return join([(s0 / RATE, r) for s0, r in results], unit="chunks")


def _verify16(y16: np.ndarray, clipped: clipping.Restored | None, keys: list[bytes], *, duration_s: float,
              multiplicity: float) -> Verification:
    """:func:`verify` on a 16 kHz clip of moderate length.

    ``clipped`` marks its clipped samples (or is None). This reading gets
    ``1 / multiplicity`` of the false-alarm budget (other versions of the clip, echoes
    undone, get the rest): its p-values are multiplied by ``multiplicity``.
    """
    analysis = features.analyse(y16)
    logps = [features.cell_log_power(analysis, o) for o in range(OFFSETS)]
    ws = [features.weights(lp) for lp in logps]
    clip_ws = None
    if clipped is not None:
        made_up = clipped.correction_analysis
        clip_ws = [clipping.slot_weights(clipped.mask, start=o * HOP, slot=SLOT, n_slots=w.shape[0])[:, None]
                   * clipping.correction_weights(made_up_db(features.cell_log_power(made_up, o), lp))
                   for o, (w, lp) in enumerate(zip(ws, logps))]
        ws = [w * cw for w, cw in zip(ws, clip_ws)]
    if not any(w.any() for w in ws):
        return Verification(False, None, 1.0, [], "nothing to check: the audio is silent")
    n_tests = OFFSETS * PERIOD_SLOTS * len(keys) * multiplicity * TESTS_PER_STEP
    scorers = [_Scorer(logps, ws, key, clip_ws, data_weight=_DATA_WEIGHT) for key in keys]
    scores = {(ki, o): scorer.slot_scores(o) for ki, scorer in enumerate(scorers) for o in range(OFFSETS) if ws[o].any()}
    best_p, best_h = search(scorers, scores, n_tests, whole=True, p_threshold=P_THRESHOLD,
                            sharpen_up_to=_SHARPEN_UP_TO)
    short = "" if duration_s >= MIN_PRESENCE_S else f" (clip is {duration_s:.2f} s, under the {MIN_PRESENCE_S} s the design needs)"
    if best_h is None or best_p > _CHECK_GATE:
        return Verification(False, None, best_p, [], f"no watermark found (p={best_p:.2g} > {P_THRESHOLD:g}){short}")
    scorer = scorers[best_h.key_index]
    segments, marked = localize(scorer, best_h, duration_s=y16.shape[0] / RATE)
    raw, ok, data_phase = read_payload(scorer, best_h, marked)
    if ok:  # the data groups are known now: they sharpen the segment edges
        segments, _ = localize(scorer, best_h, duration_s=y16.shape[0] / RATE, coded=coding.encode(raw),
                               data_phase=data_phase)
    others: list[OtherMark] = []
    if best_p <= P_THRESHOLD:
        segments, others = more_segments(segments, scorers, scores, n_tests, duration_s=y16.shape[0] / RATE,
                                         key_index=best_h.key_index, payload=raw if ok else None,
                                         p_threshold=P_THRESHOLD, sharpen_up_to=_SHARPEN_UP_TO)
    if best_p > P_THRESHOLD:
        # Under "no mark", the data groups' angles are uniform and independent of the sync
        # groups' ones. The presence statistic saw their doubled angles, which leave each
        # data group's sign (angle or angle + pi) a fair coin: flipping the groups of any
        # codeword's bits maps the list decoder's paths to paths XOR that codeword, so each
        # path's payload and CRC are uniform and a CRC checks by chance with probability at
        # most readings x paths x 2**-16 whatever the presence statistic said: the product
        # is a p-value.
        p_value = best_p * CRC_CHANCE
        if not ok or p_value > P_THRESHOLD:
            return Verification(False, None, best_p, [], f"no watermark found (p={best_p:.2g} > {P_THRESHOLD:g}){short}")
        duration = y16.shape[0] / RATE
        return Verification(True, raw, p_value, segments or [(0.0, round(duration, 3))],
                            f"watermark found (p={p_value:.2g}, with the payload check); payload read", best_h.key_index, raw)
    what = "payload read" if ok else "payload unreadable (check failed)"
    return Verification(True, raw if ok else None, best_p, segments, f"watermark found (p={best_p:.2g}); {what}",
                        best_h.key_index, raw, other_marks=others)

