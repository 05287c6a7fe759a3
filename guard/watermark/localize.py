"""Where in the clip a found mark is: a two-state segmentation of the slots of one hypothesis."""

from __future__ import annotations

import numpy as np

from guard.watermark import features
from guard.watermark.layout import HOP, RATE, SLOT
from guard.watermark.levels import class_mean
from guard.watermark.presence import Hypothesis
from guard.watermark.scorer import Scorer

LOCAL_SLOTS = max(2, int(round(0.5 * RATE / SLOT)))  # about 0.5 s
_LOCAL_MEAN = 0.35  # mean cos of the sync groups over 0.5 s: the first guess of the marked part
_SWITCH_NATS = 6.0  # cost of a marked/unmarked boundary in the segmentation
_SEGMENT_ROUNDS = 3


def localize(scorer: Scorer, h: Hypothesis, *, duration_s: float, coded: np.ndarray | None = None,
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
    kernel = np.ones(LOCAL_SLOTS)
    c_sum = np.convolve(c, kernel, mode="same")
    n_sum = np.convolve(n, kernel, mode="same")
    marked = (n_sum >= 4) & (c_sum >= _LOCAL_MEAN * np.maximum(n_sum, 1))
    if not marked.any():
        marked = cells.any(axis=1)
    level = scorer.levels[h.offset]
    for _ in range(_SEGMENT_ROUNDS):
        mean = np.clip(class_mean(level, cells * marked[:, None], cos), 0.05, 0.95)
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
