"""Find the keyed mark in any window of at least 3 s: presence with a p-value, then the payload."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from guard.audio import check_sample_rate, resample, valid_audio
from guard.errors import ParameterError
from guard.watermark import clipping, coding, features, stats
from guard.watermark.echo import candidates as echo_candidates
from guard.watermark.echo import find_echoes, remove_echo
from guard.watermark.layout import (
    CODED_BITS,
    CRC_BITS,
    DATA_PERIODS,
    HOP,
    OFFSETS,
    PERIOD_SLOTS,
    RATE,
    SLOT,
    STEP,
    check_key,
    pattern,
)
from guard.watermark.result import OtherMark, Verification, join

_T = TypeVar("_T")

MIN_PRESENCE_S = 3.0
P_THRESHOLD = 1e-6  # per 3 s window, after correcting for offsets, phases and keys
MIN_TRY_S = 1.0
_CHUNK_S = 30  # longer clips are verified in chunks, with this overlap:
_OVERLAP_S = 4
_WINDOW_SLOTS = min(PERIOD_SLOTS, int(round(3.0 * RATE / SLOT)))  # about 3 s, within one period
_WINDOW_STEP = max(1, int(round(1.0 * RATE / SLOT)))  # about 1 s
# 2 s windows every 0.5 s find shorter marked pieces (2 s pieces inside unmarked speech:
# 11 of 12 found instead of 9 on espeak, 10 instead of 9 on real speech). Each 1 s step
# then holds 3 tests instead of 1, and the p-value pays for them, so the false-alarm rate
# per 3 s window stays within P_THRESHOLD.
_SHORT_SLOTS = int(round(2.0 * RATE / SLOT))
_SHORT_STEP = int(round(0.5 * RATE / SLOT))
_TESTS_PER_STEP = 3
_LOCAL_SLOTS = max(2, int(round(0.5 * RATE / SLOT)))  # about 0.5 s
_LOCAL_MEAN = 0.35  # mean cos of the sync groups over 0.5 s: the first guess of the marked part
_SWITCH_NATS = 6.0  # cost of a marked/unmarked boundary in the segmentation
_SEGMENT_ROUNDS = 3
_MAX_PIECES = 4  # marked pieces of different hypotheses listed in one clip (see _more_segments)
# a clip whose presence statistic alone gives p up to this is read; a payload whose CRC checks
# then lowers p by the chance of that check (4 readings x 2 data phases x LIST_SIZE paths
# x 2**-16), see _verify16
_READINGS = ((True, True), (False, True), (True, False), (False, False))  # (marked part only, reliability weights)
_CRC_CHANCE = len(_READINGS) * DATA_PERIODS * coding.LIST_SIZE * 2.0**-CRC_BITS
_CHECK_GATE = P_THRESHOLD / _CRC_CHANCE
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
# Presence also reads the data groups: the bit they carry is unknown, but either bit puts
# twice their angle on the dither, so cos(2 angle) is near 1 when marked and, like cos(angle),
# uniform under "no mark" (and independent of the bits' signs, which the payload check
# reads). Doubling doubles the angle's noise, so these weigh less, and the more so the less
# reliable the group: _DATA_WEIGHT * w**2 against a sync group's w. On every 3 s window at
# 0.5 s steps of 60 LibriSpeech clips (another seed than the benchmark's), presence TPR
# after AAC 32k 0.987 -> 0.994, Opus 24k 0.989 -> 0.990, echo 0.993 -> 0.996, clipping
# 0.978 -> 0.983, white noise 30 dB the same (median log10 p -38 -> -45); espeak-ng
# the same or better (median log10 p after the telephone chain -42 -> -50). Harder attacks
# (40 clips): white noise 20 dB 0.868 -> 0.910, MP3 16k 0.720 -> 0.740, highpass 1.5 kHz
# 0.960 -> 0.972, but Opus 16k 0.250 -> 0.218, where doubled noise outweighs the data
# groups. 0.2 * w and 0.5 * w**2 did about as well; verifying costs some 3 % more time.
_DATA_WEIGHT = 0.3
_LEVEL_STEP_DB = 5.0  # level classes of the payload reading's reliability estimate
_LEVEL_BINS = 8
_PRIOR_GROUPS = 4.0  # pseudo-count pulling a (band, level) class towards its level's mean


@dataclass(frozen=True)
class _Hypothesis:
    key_index: int
    offset: int
    phase: int
    z: float
    window: tuple[int, int]  # slots [start, stop) of the window tested
    t: float  # its statistic: the weighted sum of the groups' cos (slot_scores)


class _Scorer:
    """Per-slot presence scores of every offset and phase for one key."""

    def __init__(self, logps: list[np.ndarray], ws: list[np.ndarray], key: bytes,
                 clip_ws: list[np.ndarray] | None = None) -> None:
        pat = pattern(key)
        self.pat = pat
        # projection of every slot on every period position's chips: (n_slots, PERIOD_SLOTS, N_BANDS)
        self.proj_all = [np.einsum("scb,qbc->sqb", lp, pat.chips, optimize=True) for lp in logps]
        self.ws = ws
        # factor of ws that is not the level's (clipping), per offset [shape=(n_slots, N_BANDS)]
        self.clip_ws = clip_ws if clip_ws is not None else [np.ones_like(w) for w in ws]
        self.levels = [_levels(lp) for lp in logps]
        # presence reads the sync groups' angles and the data groups' doubled angles (either
        # bit puts a data group's doubled angle on its dither) [shape=(PERIOD_SLOTS, N_BANDS)]
        self.turn_factor = np.where(pat.is_sync, 1.0, 2.0)

    def sync_weights(self, offset: int, phase: int) -> np.ndarray:
        """Weights of the sync groups only, for this phase [shape=(n_slots, N_BANDS)]."""
        w = self.ws[offset]
        return w * features.periodic(self.pat.is_sync, w.shape[0], phase)

    def presence_weights(self, offset: int, phase: int) -> np.ndarray:
        """Weights of every group in the presence statistic, for this phase [shape=(n_slots, N_BANDS)].

        A sync group weighs its reliability ``w``, a data group ``_DATA_WEIGHT * w**2``.
        """
        w = self.ws[offset]
        sync = features.periodic(self.pat.is_sync, w.shape[0], phase)
        return np.where(sync, w, _data_weights(w))

    def projections(self, offset: int, phase: int) -> np.ndarray:
        pa = self.proj_all[offset]
        n = pa.shape[0]
        return pa[np.arange(n), (phase + np.arange(n)) % PERIOD_SLOTS]

    def angles(self, offset: int, phase: int, *, turns: float) -> np.ndarray:
        """Angle of each group against its dither [shape=(n_slots, N_BANDS)], ``turns`` per STEP of its band."""
        proj = self.projections(offset, phase)
        d = features.periodic(self.pat.dither, proj.shape[0], phase)
        return 2 * np.pi * turns * (proj - d) / STEP

    def folded_amplitudes(self, offset: int, phase: int, start: int, stop: int) -> np.ndarray:
        """Amplitudes of the presence phasors of slots [start, stop), summed over period repeats.

        Groups that share a period position share a dither, so under "no mark" only their
        sum has a uniform phase; for windows within one period these are just the weights.
        """
        w = self.presence_weights(offset, phase)[start:stop]
        if stop - start <= PERIOD_SLOTS:
            return w.ravel()
        factor = features.periodic(self.turn_factor, stop, phase)[start:stop]
        z = w * np.exp(1j * factor * self.angles(offset, phase, turns=1.0)[start:stop])
        q = (phase + start + np.arange(stop - start)) % PERIOD_SLOTS
        folded = np.zeros((PERIOD_SLOTS, z.shape[1]), dtype=complex)
        np.add.at(folded, q, z)
        return np.abs(folded).ravel()

    def slot_scores(self, offset: int) -> np.ndarray:
        """Weighted cos of every group's presence angle per slot, every phase.

        The sync groups' angles and the data groups' doubled angles against their dithers,
        weighted by :meth:`presence_weights`.

        Returns
        -------
        scores, amplitudes : np.ndarray [shape=(PERIOD_SLOTS, n_slots)] each
        """
        pa = self.proj_all[offset]  # (s, q, b)
        n = pa.shape[0]
        turns = (pa - self.pat.dither[None]) * (self.turn_factor / STEP)[None]
        turns -= np.round(turns)
        # float32 cosine of the wrapped angle: some 25x faster than float64 (SIMD), within 1.5e-7
        cos = np.cos((2 * np.pi * turns).astype(np.float32))
        w = self.ws[offset]  # (s, b)
        sync = self.pat.is_sync.astype(np.float32)
        wd = _data_weights(w)
        score_sq = (np.einsum("sqb,sb,qb->sq", cos, w.astype(np.float32), sync, optimize=True)
                    + np.einsum("sqb,sb,qb->sq", cos, wd.astype(np.float32), 1 - sync, optimize=True)).astype(np.float64)
        amp_sq = w @ sync.T + wd @ (1 - sync).T  # (s, q)
        q = (np.arange(PERIOD_SLOTS)[:, None] + np.arange(n)[None, :]) % PERIOD_SLOTS  # (p, s)
        rows = np.broadcast_to(np.arange(n), q.shape)
        return score_sq[rows, q], amp_sq[rows, q]


def _data_weights(w: np.ndarray) -> np.ndarray:
    """Presence weight of a data group of reliability ``w`` (see :data:`_DATA_WEIGHT`)."""
    return _DATA_WEIGHT * w**2


def _levels(logp: np.ndarray) -> np.ndarray:
    """Level of each group (its quietest cell) in dB below the loudest group of the clip [shape=(n_slots, N_BANDS)]."""
    g = logp.min(axis=1) * (10 / np.log(10))
    return g - g.max() if g.size else g


def _made_up_db(made_up: np.ndarray, logp: np.ndarray) -> np.ndarray:
    """Power the declipper made up over the power, in dB, of each group's worst cell [shape=(n_slots, N_BANDS)].

    Both are log powers per cell [shape=(n_slots, CELLS_PER_SLOT, N_BANDS)].
    """
    return (made_up - logp).max(axis=1) * (10 / np.log(10))


def _check_keys(keys: object) -> list[bytes]:
    if isinstance(keys, (bytes, bytearray)) or not isinstance(keys, Sequence) or len(keys) == 0:
        raise ParameterError("keys must be a non-empty sequence of bytes keys (e.g. home.watermark_keys())")
    return [check_key(k, name=f"keys[{i}]") for i, k in enumerate(keys)]


def _windows(n_slots: int) -> list[tuple[int, int]]:
    """The windows tested for presence: about 3 s every 1 s, and about 2 s every 0.5 s."""
    short = _sliding(n_slots, _SHORT_SLOTS, _SHORT_STEP) if n_slots > _SHORT_SLOTS else []
    return _sliding(n_slots, _WINDOW_SLOTS, _WINDOW_STEP) + short


def _sliding(n_slots: int, size: int, step: int) -> list[tuple[int, int]]:
    if n_slots <= size:
        return [(0, n_slots)]
    starts = list(range(0, n_slots - size + 1, step))
    if starts[-1] != n_slots - size:
        starts.append(n_slots - size)
    return [(s, s + size) for s in starts]


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
                   * clipping.correction_weights(_made_up_db(features.cell_log_power(made_up, o), lp))
                   for o, (w, lp) in enumerate(zip(ws, logps))]
        ws = [w * cw for w, cw in zip(ws, clip_ws)]
    if not any(w.any() for w in ws):
        return Verification(False, None, 1.0, [], "nothing to check: the audio is silent")
    n_tests = OFFSETS * PERIOD_SLOTS * len(keys) * multiplicity * _TESTS_PER_STEP
    scorers = [_Scorer(logps, ws, key, clip_ws) for key in keys]
    scores = {(ki, o): scorer.slot_scores(o) for ki, scorer in enumerate(scorers) for o in range(OFFSETS) if ws[o].any()}
    best_p, best_h = _search(scorers, scores, n_tests, whole=True)
    short = "" if duration_s >= MIN_PRESENCE_S else f" (clip is {duration_s:.2f} s, under the {MIN_PRESENCE_S} s the design needs)"
    if best_h is None or best_p > _CHECK_GATE:
        return Verification(False, None, best_p, [], f"no watermark found (p={best_p:.2g} > {P_THRESHOLD:g}){short}")
    scorer = scorers[best_h.key_index]
    segments, marked = _localize(scorer, best_h, duration_s=y16.shape[0] / RATE)
    raw, ok, data_phase = _read_payload(scorer, best_h, marked)
    if ok:  # the data groups are known now: they sharpen the segment edges
        segments, _ = _localize(scorer, best_h, duration_s=y16.shape[0] / RATE, coded=coding.encode(raw),
                                data_phase=data_phase)
    others: list[OtherMark] = []
    if best_p <= P_THRESHOLD:
        segments, others = _more_segments(segments, scorers, scores, n_tests, duration_s=y16.shape[0] / RATE,
                                          key_index=best_h.key_index, payload=raw if ok else None)
    if best_p > P_THRESHOLD:
        # Under "no mark", the data groups' angles are uniform and independent of the sync
        # groups' ones. The presence statistic saw their doubled angles, which leave each
        # data group's sign (angle or angle + pi) a fair coin: flipping the groups of any
        # codeword's bits maps the list decoder's paths to paths XOR that codeword, so each
        # path's payload and CRC are uniform and a CRC checks by chance with probability at
        # most readings x paths x 2**-16 whatever the presence statistic said: the product
        # is a p-value.
        p_value = best_p * _CRC_CHANCE
        if not ok or p_value > P_THRESHOLD:
            return Verification(False, None, best_p, [], f"no watermark found (p={best_p:.2g} > {P_THRESHOLD:g}){short}")
        duration = y16.shape[0] / RATE
        return Verification(True, raw, p_value, segments or [(0.0, round(duration, 3))],
                            f"watermark found (p={p_value:.2g}, with the payload check); payload read", best_h.key_index, raw)
    what = "payload read" if ok else "payload unreadable (check failed)"
    return Verification(True, raw if ok else None, best_p, segments, f"watermark found (p={best_p:.2g}); {what}",
                        best_h.key_index, raw, other_marks=others)


def _search(scorers: list[_Scorer], scores: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]], n_tests: float, *,
            whole: bool, outside: Sequence[tuple[float, float]] = ()) -> tuple[float, _Hypothesis | None]:
    """The best presence hypothesis over keys, offsets, phases and windows, and its p-value.

    ``scores`` holds :meth:`_Scorer.slot_scores` per (key index, offset); ``whole`` adds the
    whole clip as a window when it is longer than one; windows that overlap any span of
    ``outside`` (seconds) are skipped. Each p-value is multiplied by ``n_tests``; near the
    thresholds the best one's bound is tightened.
    """
    best_p, best_h = 1.0, None
    for (ki, o), (per_slot, amps) in scores.items():
        n = per_slot.shape[1]
        for s0, s1 in _windows(n) + ([(0, n)] if whole and n > _WINDOW_SLOTS else []):
            t0, t1 = (o * HOP + s0 * SLOT) / RATE, (o * HOP + s1 * SLOT) / RATE
            if any(t0 < b and a < t1 for a, b in outside):
                continue
            t = per_slot[:, s0:s1].sum(axis=1)
            var = 0.5 * amps[:, s0:s1].sum(axis=1)
            z_all = t / np.sqrt(np.maximum(var, 1e-9))
            p = int(np.argmax(z_all))
            z = float(z_all[p])
            if var[p] <= 0 or z < 3.0 or (best_h is not None and z <= best_h.z and best_p < P_THRESHOLD):
                continue
            amplitudes = scorers[ki].folded_amplitudes(o, p, s0, s1)
            pv = min(1.0, n_tests * stats.tail_bound(float(t[p]), amplitudes))
            if pv < best_p or best_h is None or (pv == best_p and z > best_h.z):
                best_p, best_h = pv, _Hypothesis(ki, o, p, float(z), (s0, s1), float(t[p]))
    if best_h is not None and P_THRESHOLD < best_p <= _SHARPEN_UP_TO:
        # near the thresholds the Chernoff bound is some 10-20 times loose: tighten the best window's
        amplitudes = scorers[best_h.key_index].folded_amplitudes(best_h.offset, best_h.phase, *best_h.window)
        best_p = min(best_p, n_tests * stats.tail_bound(best_h.t, amplitudes, sharp=True))
    return best_p, best_h


def _read_payload(scorer: _Scorer, h: _Hypothesis, marked: np.ndarray) -> tuple[int | None, bool, int]:
    """The payload of hypothesis ``h``: (bits, whether its CRC checked, the data phase read).

    A few readings (marked part or whole clip, with or without the reliability weights),
    each at both phases of the data cycle (the sync groups fix the phase within one period
    only) and list-decoded (coding.LIST_SIZE best paths); the first path whose CRC checks
    wins. Every path tried adds 2**-16 to the chance of a wrong payload: at most _CRC_CHANCE
    (4 x 2 x 8 x 2**-16 = 9.8e-4) on a marked clip whose payload cannot be read. Without a
    check, the bits are the first reading's.
    """
    everything = np.ones_like(marked)
    raw, ok, data_phase = None, False, h.phase
    for part, weigh in _READINGS:
        soft = _soft_bits(scorer, h, marked if part else everything, weigh=weigh)
        for cycle in range(DATA_PERIODS):
            data_phase = h.phase + cycle * PERIOD_SLOTS
            bits, ok = _decode(soft, scorer.pat.bit_index, data_phase)
            raw = bits if ok or raw is None else raw
            if ok:
                return raw, ok, data_phase
    return raw, ok, data_phase


def _more_segments(segments: list[tuple[float, float]], scorers: list[_Scorer],
                   scores: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]], n_tests: float, *,
                   duration_s: float, key_index: int,
                   payload: int | None) -> tuple[list[tuple[float, float]], list[OtherMark]]:
    """``segments`` and the other pieces of the same mark found outside them (sorted), and the pieces of other marks.

    The segmentation follows one hypothesis (offset and period phase), so marked pieces
    joined out of step (two marked clips back to back, a marked piece spliced into another)
    show only the piece that hypothesis reads. A window outside every piece found so far
    whose p-value passes :data:`P_THRESHOLD` (the same test as the first) adds its
    hypothesis's segments, less what is already covered, when it is the same mark: the same
    key, and (when ``payload`` is known) no other payload read from the piece itself (a
    piece too short to carry one counts). Pieces of another key or payload are returned
    apart, as :class:`OtherMark`; up to :data:`_MAX_PIECES` searches.
    """
    found, elsewhere, others = list(segments), list(segments), []
    for _ in range(_MAX_PIECES - 1):
        p, h = _search(scorers, scores, n_tests, whole=False, outside=elsewhere)
        if h is None or p > P_THRESHOLD:
            break
        new, marked = _localize(scorers[h.key_index], h, duration_s=duration_s)
        added = [piece for a, b in new for piece in _minus((a, b), elsewhere)]
        if not added:
            break
        elsewhere = sorted(elsewhere + added)
        raw, ok, _ = _read_payload(scorers[h.key_index], h, marked)
        if h.key_index != key_index or (payload is not None and ok and raw != payload):
            others.append(OtherMark(added, h.key_index, raw if ok else None))
        else:
            found = sorted(found + added)
    return found, others


def _minus(span: tuple[float, float], others: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of ``span`` outside every span of ``others`` (seconds), each at least _LOCAL_SLOTS long."""
    pieces = [span]
    for a, b in others:
        pieces = [q for x, y in pieces for q in ((x, min(y, a)), (max(x, b), y)) if q[1] > q[0]]
    shortest = _LOCAL_SLOTS * SLOT / RATE
    return [(round(x, 3), round(y, 3)) for x, y in pieces if y - x >= shortest]


def _localize(scorer: _Scorer, h: _Hypothesis, *, duration_s: float, coded: np.ndarray | None = None,
              data_phase: int = 0) -> tuple[list[tuple[float, float]], np.ndarray]:
    """Marked segments in seconds and the marked-slot mask [shape=(n_slots,)].

    A two-state (marked / unmarked) Viterbi segmentation of the slots. Each slot's evidence
    is the log-likelihood ratio of its groups' cos against their dither, marked (mean cos
    of groups of the same band and level inside the marked part) against unmarked (mean 0,
    variance 1/2); a switch of state costs ``_SWITCH_NATS``, so short blips of evidence do
    not make segments. Silent slots carry no evidence and take their neighbours' state.
    The mean cos is re-estimated from the marked part a few times, starting from a 0.5 s
    running mean of the sync groups.

    Parameters
    ----------
    coded : np.ndarray [shape=(CODED_BITS,)], optional
        Coded bits of a payload whose CRC checked: the data groups then count as evidence
        too (decision-directed), besides the sync groups.
    data_phase : int in [0, DATA_PERIODS * PERIOD_SLOTS)
        Position of slot 0 in the data cycle, where that payload was read.
    """
    sync_w = scorer.sync_weights(h.offset, h.phase)
    cos = np.cos(scorer.angles(h.offset, h.phase, turns=1.0))
    if coded is None:
        cells = sync_w > 0
    else:
        idx = features.periodic(scorer.pat.bit_index, cos.shape[0], data_phase)
        cos = np.where(idx >= 0, cos * (1 - 2 * coded[np.maximum(idx, 0)]), cos)
        cells = scorer.ws[h.offset] > 0
    c = (sync_w * cos).sum(axis=1)
    n = sync_w.sum(axis=1)
    kernel = np.ones(_LOCAL_SLOTS)
    c_sum = np.convolve(c, kernel, mode="same")
    n_sum = np.convolve(n, kernel, mode="same")
    marked = (n_sum >= 4) & (c_sum >= _LOCAL_MEAN * np.maximum(n_sum, 1))
    if not marked.any():
        marked = cells.any(axis=1)
    level = scorer.levels[h.offset]
    for _ in range(_SEGMENT_ROUNDS):
        mean = np.clip(_class_mean(level, cells * marked[:, None], cos), 0.05, 0.95)
        llr = (cells * (2 * mean * cos - mean**2)).sum(axis=1)
        again = _two_state_path(llr, _SWITCH_NATS)
        if not again.any() or np.array_equal(again, marked):
            break
        marked = again
    segments = []
    for a, b in _centred_in_silence(_runs(marked), ~cells.any(axis=1)):
        t0 = (h.offset * HOP + a * SLOT) / RATE
        t1 = min(duration_s, (h.offset * HOP + b * SLOT) / RATE)
        segments.append((round(t0, 3), round(t1, 3)))
    return segments, marked


def _two_state_path(llr: np.ndarray, switch: float) -> np.ndarray:
    """Most likely on/off path [shape=(n,), bool] given each step's log-likelihood ratio of "on".

    Starts and ends "off"; every change of state costs ``switch`` nats.
    """
    n = llr.shape[0]
    off, on = 0.0, -switch
    from_on = np.zeros((n, 2), dtype=bool)  # whether the best way into (off, on) at step s came from "on"
    for s in range(n):
        off_from_on = on - switch > off
        on_from_on = on >= off - switch
        from_on[s] = off_from_on, on_from_on
        off, on = max(off, on - switch), max(on, off - switch) + llr[s]
    state = on - switch > off
    path = np.zeros(n, dtype=bool)
    for s in range(n - 1, -1, -1):
        path[s] = state
        state = from_on[s, int(state)]
    return path


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every run of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _centred_in_silence(runs: list[tuple[int, int]], silent: np.ndarray) -> list[tuple[int, int]]:
    """Runs whose edges inside a silent stretch are moved to its middle.

    Silent slots carry no evidence either way, so where a marked run meets unmarked
    audio across a pause, the boundary could be anywhere in the pause: its middle is off
    by at most half of it.
    """
    out = []
    for a, b in runs:
        a2, b2 = _middle_of_silence(a, silent), _middle_of_silence(b, silent)
        if b2 > a2:
            out.append((a2, b2))
    return out


def _middle_of_silence(edge: int, silent: np.ndarray) -> int:
    """Middle of the silent stretch that ``edge`` (a slot boundary) lies in or touches, else ``edge``.

    A stretch that reaches the clip's start or end has nothing beyond it that could be
    marked: the edge goes to its sounding side.
    """
    lo, hi = edge, edge
    while lo > 0 and silent[lo - 1]:
        lo -= 1
    while hi < silent.shape[0] and silent[hi]:
        hi += 1
    if hi == lo:
        return edge
    if lo == 0:
        return hi
    if hi == silent.shape[0]:
        return lo
    return (lo + hi) // 2


def _class_mean(level: np.ndarray, weight: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Weighted mean of ``value`` over groups of the same band and level class [shape=(n_slots, N_BANDS)].

    Level classes are _LEVEL_STEP_DB wide; a class with few groups is shrunk towards the
    mean of its level over all bands (pseudo-count _PRIOR_GROUPS).

    Parameters
    ----------
    level : np.ndarray [shape=(n_slots, N_BANDS)]
        Level of each group in dB below the loudest group of the clip (<= 0).
    weight, value : np.ndarray [shape=(n_slots, N_BANDS)]
        Weight of each group in the mean (0 leaves it out) and the value averaged.
    """
    n_levels = _LEVEL_BINS
    level_bin = np.clip((-level / _LEVEL_STEP_DB).astype(int), 0, n_levels - 1)
    cell = (level_bin * level.shape[1] + np.arange(level.shape[1])[None, :]).ravel()
    size = n_levels * level.shape[1]
    wsum = np.bincount(cell, weights=weight.ravel(), minlength=size).reshape(n_levels, -1)
    vsum = np.bincount(cell, weights=(weight * value).ravel(), minlength=size).reshape(n_levels, -1)
    by_level = vsum.sum(axis=1) / np.maximum(wsum.sum(axis=1), 1e-9)
    mean = (vsum + _PRIOR_GROUPS * by_level[:, None]) / (wsum + _PRIOR_GROUPS)
    return mean[level_bin, np.arange(level.shape[1])[None, :]]


def _reliability(level: np.ndarray, sync: np.ndarray, cos: np.ndarray) -> np.ndarray:
    """Soft-decision weight of each group, estimated from the sync groups [shape=(n_slots, N_BANDS)].

    Codecs keep the loud cells and blur the quiet ones, and filters remove whole bands, so
    the mean cos of the sync groups of the same band and about the same level (5 dB steps,
    shrunk towards the mean of that level over all bands when few) estimates how far an
    attack moved the groups like them. Each group is then trusted by the von Mises
    concentration that has that mean cos, the log-likelihood-ratio scale of a phase read
    through wrapped noise. For reading the payload only: the presence p-value never uses this.

    Parameters
    ----------
    level : np.ndarray [shape=(n_slots, N_BANDS)]
        Level of each group in dB below the loudest group of the clip (<= 0).
    sync : np.ndarray [shape=(n_slots, N_BANDS)]
        Weight of each sync group (0 for data groups and unused slots).
    cos : np.ndarray [shape=(n_slots, N_BANDS)]
        cos of each group's angle against its dither.
    """
    m = np.clip(_class_mean(level, sync, cos), 0.0, 0.95)
    return m * (2 - m**2) / (1 - m**2)  # Banerjee et al.'s approximation of A1^-1(m)


def _soft_bits(scorer: _Scorer, h: _Hypothesis, use: np.ndarray, *, weigh: bool) -> np.ndarray:
    """Soft reading of every data group in the slots in ``use`` [shape=(n_slots, N_BANDS)]; 0 elsewhere."""
    w_all = scorer.ws[h.offset]
    sync = scorer.sync_weights(h.offset, h.phase) * use[:, None]
    angles = scorer.angles(h.offset, h.phase, turns=1.0)
    if weigh:
        # a filter edge or a codec shifts a band's projections by about a constant: undo
        # each band's mean rotation, as the sync groups show it
        angles = angles - np.angle((sync * np.exp(1j * angles)).sum(axis=0))[None, :]
    cos = np.cos(angles)
    if weigh:
        active = (w_all > 0) * scorer.clip_ws[h.offset]
        reliability = _reliability(scorer.levels[h.offset], sync > 0, cos)
    else:
        active, reliability = w_all, 1.0
    return np.where(sync > 0, 0.0, active) * use[:, None] * reliability * cos  # data groups only


def _decode(soft: np.ndarray, bit_index: np.ndarray, data_phase: int) -> tuple[int, bool]:
    """The payload read from ``soft`` and whether its CRC checks.

    Parameters
    ----------
    soft : np.ndarray [shape=(n_slots, N_BANDS)]
        Soft reading of each group (:func:`_soft_bits`).
    bit_index : np.ndarray [shape=(DATA_PERIODS * PERIOD_SLOTS, N_BANDS)]
        The pattern's coded bit of each group.
    data_phase : int
        Position of slot 0 in the data cycle.
    """
    idx = features.periodic(bit_index, soft.shape[0], data_phase)
    data = idx >= 0
    llr = np.bincount(idx[data], weights=soft[data], minlength=CODED_BITS)
    payload, ok, _ = coding.decode_list(llr)
    return payload, ok
