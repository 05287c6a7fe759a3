"""Further marked pieces of one clip: the same mark joined out of step, and pieces of other marks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from guard.watermark.layout import RATE, SLOT
from guard.watermark.localize import LOCAL_SLOTS, localize
from guard.watermark.payload import read_payload
from guard.watermark.presence import search
from guard.watermark.result import OtherMark
from guard.watermark.scorer import Scorer

_MAX_PIECES = 4  # marked pieces of different hypotheses listed in one clip (see more_segments)


def more_segments(segments: list[tuple[float, float]], scorers: list[Scorer],
                  scores: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]], n_tests: float, *,
                  duration_s: float, key_index: int, payload: int | None, p_threshold: float,
                  sharpen_up_to: float) -> tuple[list[tuple[float, float]], list[OtherMark]]:
    """``segments`` and the other pieces of the same mark found outside them (sorted), and the pieces of other marks.

    The segmentation follows one hypothesis (offset and period phase), so marked pieces
    joined out of step (two marked clips back to back, a marked piece spliced into another)
    show only the piece that hypothesis reads. A window outside every piece found so far
    whose p-value passes ``p_threshold`` (the same test as the first, searched with
    ``sharpen_up_to`` as :func:`guard.watermark.presence.search` takes it) adds its
    hypothesis's segments, less what is already covered, when it is the same mark: the same
    key, and (when ``payload`` is known) no other payload read from the piece itself (a
    piece too short to carry one counts). Pieces of another key or payload are returned
    apart, as :class:`OtherMark`; up to :data:`_MAX_PIECES` searches.
    """
    found, elsewhere, others = list(segments), list(segments), []
    for _ in range(_MAX_PIECES - 1):
        p, h = search(scorers, scores, n_tests, whole=False, p_threshold=p_threshold, sharpen_up_to=sharpen_up_to,
                      outside=elsewhere)
        if h is None or p > p_threshold:
            break
        new, marked = localize(scorers[h.key_index], h, duration_s=duration_s)
        added = [piece for a, b in new for piece in _minus((a, b), elsewhere)]
        if not added:
            break
        elsewhere = sorted(elsewhere + added)
        raw, ok, _ = read_payload(scorers[h.key_index], h, marked)
        if h.key_index != key_index or (payload is not None and ok and raw != payload):
            others.append(OtherMark(added, h.key_index, raw if ok else None))
        else:
            found = sorted(found + added)
    return found, others


def _minus(span: tuple[float, float], others: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of ``span`` outside every span of ``others`` (seconds), each at least LOCAL_SLOTS long."""
    pieces = [span]
    for a, b in others:
        pieces = [q for x, y in pieces for q in ((x, min(y, a)), (max(x, b), y)) if q[1] > q[0]]
    shortest = LOCAL_SLOTS * SLOT / RATE
    return [(round(x, 3), round(y, 3)) for x, y in pieces if y - x >= shortest]
