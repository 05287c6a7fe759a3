"""The presence test: the window, grid offset, period phase and key that show a mark most strongly, with its p-value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from guard.watermark import stats
from guard.watermark.layout import HOP, PERIOD_SLOTS, RATE, SLOT
from guard.watermark.scorer import Scorer

_WINDOW_SLOTS = min(PERIOD_SLOTS, int(round(3.0 * RATE / SLOT)))  # about 3 s, within one period
_WINDOW_STEP = max(1, int(round(1.0 * RATE / SLOT)))  # about 1 s
# 2 s windows every 0.5 s find shorter marked pieces (2 s pieces inside unmarked speech:
# 11 of 12 found instead of 9 on espeak, 10 instead of 9 on real speech). Each 1 s step
# then holds 3 tests instead of 1, and the p-value pays for them, so the false-alarm rate
# per 3 s window stays within the verifier's P_THRESHOLD.
_SHORT_SLOTS = int(round(2.0 * RATE / SLOT))
_SHORT_STEP = int(round(0.5 * RATE / SLOT))
TESTS_PER_STEP = 3


@dataclass(frozen=True)
class Hypothesis:
    """Where a mark is read: which key, grid offset and period phase, and the window that showed it."""

    key_index: int
    offset: int
    phase: int
    z: float
    window: tuple[int, int]  # slots [start, stop) of the window tested
    t: float  # its statistic: the weighted sum of the groups' cos (slot_scores)


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


def search(scorers: list[Scorer], scores: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]], n_tests: float, *,
           whole: bool, p_threshold: float, sharpen_up_to: float,
           outside: Sequence[tuple[float, float]] = ()) -> tuple[float, Hypothesis | None]:
    """The best presence hypothesis over keys, offsets, phases and windows, and its p-value.

    ``scores`` holds :meth:`Scorer.slot_scores` per (key index, offset); ``whole`` adds the
    whole clip as a window when it is longer than one; windows that overlap any span of
    ``outside`` (seconds) are skipped. Each p-value is multiplied by ``n_tests``. Once a
    window passes ``p_threshold``, only windows with a larger z are scored; when the best
    p-value lies between ``p_threshold`` and ``sharpen_up_to``, its bound is tightened.
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
            if var[p] <= 0 or z < 3.0 or (best_h is not None and z <= best_h.z and best_p < p_threshold):
                continue
            amplitudes = scorers[ki].folded_amplitudes(o, p, s0, s1)
            pv = min(1.0, n_tests * stats.tail_bound(float(t[p]), amplitudes))
            if pv < best_p or best_h is None or (pv == best_p and z > best_h.z):
                best_p, best_h = pv, Hypothesis(ki, o, p, float(z), (s0, s1), float(t[p]))
    if best_h is not None and p_threshold < best_p <= sharpen_up_to:
        # near the thresholds the Chernoff bound is some 10-20 times loose: tighten the best window's
        amplitudes = scorers[best_h.key_index].folded_amplitudes(best_h.offset, best_h.phase, *best_h.window)
        best_p = min(best_p, n_tests * stats.tail_bound(best_h.t, amplitudes, sharp=True))
    return best_p, best_h
