"""The watermark and detector parts of a scan, run over a decoded file in blocks that bound their memory.

A file longer than :data:`BLOCK_S` (plus one detector window) is checked in blocks
(:func:`block_bounds`), so that memory stays bounded: the verifier and the detector hold
several times their input in temporaries (a 1 h file took 3.4 GB at once, 0.8 GB in
blocks). The detector's windows of the blocks are exactly those of the whole file;
the watermark blocks overlap by :data:`BLOCK_OVERLAP_S` and their findings are joined
(:func:`guard.watermark.result.join`). Shorter files, nearly every clip, are checked whole, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from guard.errors import GuardError, ParameterError
from guard.scan_result import _one_line, not_checked

SCAN_RATE = 16000
# A longer file is checked in blocks of this many seconds (a whole number of detector hops).
# Whole, the echo search and the voicing measure each take about 35 MB per minute of audio
# (2 GB an hour). Peak RSS of a 1 h scan: blocks of 300 s 0.94 GB, 180 s 0.90 GB, 120 s
# 0.82 GB, near the floor of decoding itself (the model, and the samples twice while they are
# joined: 0.77 GB). Clips of up to 2 minutes, nearly all, are checked whole, as before.
BLOCK_S = 120.0
# Each watermark block also reads this much of the block before it (besides the detector's
# window overlap), so that every piece of up to 10 s, about what a payload needs, lies whole
# in one block.
BLOCK_OVERLAP_S = 10.0


class BlockChecks:
    """The watermark and detector parts of :class:`~guard.scan.Scanner`, each over the blocks of :func:`block_bounds`.

    They read what the scanner loaded once: its ``config``, the watermark ``keys`` and their
    ``key_owners``, the ``detector``, and why a part is off (``watermark_off``, ``detector_off``).
    """

    def _speed_search_may_help(self, duration_s: float) -> bool:
        """Whether a file without our mark could still show one with ``--speed-search``: it was not
        used, and the file is long enough to carry a mark (:data:`guard.watermark.verify.MIN_PRESENCE_S`)."""
        from guard.watermark.verify import MIN_PRESENCE_S

        return not self.config.speed_search and self.watermark_off is None and duration_s >= MIN_PRESENCE_S

    def _check_watermark(self, y: np.ndarray, bounds: Sequence[tuple[int, int]], steps: Any) -> tuple[dict, Any]:
        """The watermark section and the :class:`~guard.watermark.result.Verification` (None when not checked).

        ``bounds`` are :func:`block_bounds`; with more than one, each block is read with
        :data:`BLOCK_OVERLAP_S` of the one before and the findings joined. ``steps`` (a
        progress bar) advances once per block.
        """
        from guard.watermark import verify
        from guard.watermark.result import join
        from guard.watermark.verify import MIN_PRESENCE_S, MIN_TRY_S

        if self.watermark_off:
            steps.update(len(bounds))
            return not_checked("watermark", self.watermark_off), None
        if y.shape[0] < MIN_TRY_S * SCAN_RATE:  # too short to look in: not checked, rather than "no watermark"
            return not_checked("watermark", f"clip is {y.shape[0] / SCAN_RATE:.2f} s, under the {MIN_TRY_S:g} s the "
                                            f"mark is looked for in (found reliably from {MIN_PRESENCE_S:g} s)"), None
        overlap = int(BLOCK_OVERLAP_S * SCAN_RATE)
        parts = []
        try:
            for start, stop in bounds:
                first = start if len(bounds) == 1 else max(0, start - overlap)
                parts.append((first / SCAN_RATE, verify(y[first:stop], sample_rate=SCAN_RATE, keys=self.keys,
                                                        speed_search=self.config.speed_search)))
                steps.update(1)
        except GuardError as exc:
            return not_checked("watermark", f"verify failed: {_one_line(exc)}"), None
        v = parts[0][1] if len(parts) == 1 else join(parts, unit="blocks")
        # verify's own JSON keys (DESIGN.md), less the file (the row's) and the key index
        d = v.to_dict()
        section = {k: d[k] for k in ("detected", "payload", "p_value", "segments", "reason", "speed", "other_marks")}
        # whose key found the mark: None for this home's own, else the name a trusted key was added under
        section["key_owner"] = self.key_owners[v.key_index] if v.key_index is not None else None
        return section, v

    def _detect(self, y: np.ndarray, bounds: Sequence[tuple[int, int]], steps: Any) -> dict:
        """The detector section: one score of the whole file, from :func:`block_bounds`' blocks when more than one.

        The blocks' windows are the whole file's, so the file score (the mean window logit)
        is their count-weighted mean (per-window and file p_synthetic equal the whole file's
        on 10 and 60 min of LibriSpeech). Voiced speech is measured per block, without the
        blocks' overlaps, and so against each block's loudest frame rather than the file's
        (:mod:`guard.detect.voicing`): 13-15 % more voiced seconds there (60 min: 1443 s, not
        1279 s); only its :data:`~guard.detect.voicing.MIN_VOICED_S` minimum affects a
        verdict. ``steps`` (a progress bar) advances once per block.
        """
        from guard.detect.voicing import MIN_VOICED_S, voiced_seconds

        if self.detector is None:
            steps.update(len(bounds))
            return not_checked("detector", self.detector_off or "no detector")
        parts = []
        try:
            for start, stop in bounds:
                parts.append((start / SCAN_RATE, self.detector.score(y[start:stop], sample_rate=SCAN_RATE)))
                steps.update(1)
        except GuardError as exc:
            return not_checked("detector", f"scoring failed: {_one_line(exc)}")
        if len(parts) == 1:
            result = parts[0][1]
            score, p_file, warning, voiced_s, speech = (result.score, result.p_synthetic, result.warning,
                                                        result.voiced_s, result.speech)
        else:
            counts = [len(r.segments) for _, r in parts]
            score = sum(r.score * n for (_, r), n in zip(parts, counts)) / sum(counts)
            p_file = float(self.detector.calibration(score))
            ends = [start for start, _ in bounds[1:]] + [y.shape[0]]
            voiced_s = sum(voiced_seconds(y[start:end], sample_rate=SCAN_RATE) for (start, _), end in zip(bounds, ends))
            speech = not voiced_s < MIN_VOICED_S
            warning = None if speech else (f"no voiced speech found ({voiced_s:.2f} s voiced): the detector was "
                                           "trained on speech, so its score says nothing about this audio")
        segments = [[round(t0 + float(a), 3), round(t0 + float(b), 3), round(float(p), 6)]
                    for t0, r in parts for a, b, p in r.segments]
        return {"score": float(score), "p_synthetic": float(p_file), "segments": segments,
                "warning": warning, "voiced_s": round(voiced_s, 2), "speech": speech}


def block_bounds(n_samples: int, *, sample_rate: int, block_s: float = BLOCK_S) -> list[tuple[int, int]]:
    """[start, stop) samples of the blocks a file is checked in; ``[(0, n_samples)]`` for a short one.

    Block ``i`` starts at ``i * block_s`` and ends one detector window less one hop after
    the next one starts (the last one at the end), so each detector window of the whole
    file (:func:`guard.detect.scoring.window_starts`) lies in exactly one block and starts
    at the same sample there. The last block is longer than one window, so its last window
    is the whole file's last one too. A file of up to ``block_s`` plus one window is one block.

    Parameters
    ----------
    n_samples : int >= 0
    sample_rate : int > 0
        Rate of the samples, Hz.
    block_s : float > 0
        A whole number of detector hops (:data:`guard.detect.scoring.HOP_S`).

    Examples
    --------
    >>> block_bounds(16000 * 700, sample_rate=16000, block_s=300)
    [(0, 4816000), (4800000, 9616000), (9600000, 11200000)]
    """
    from guard.detect.scoring import HOP_S, WINDOW_S

    hop, window = int(HOP_S * sample_rate), int(WINDOW_S * sample_rate)
    block = int(round(block_s * sample_rate)) if isinstance(block_s, (int, float)) and np.isfinite(block_s) else 0
    if block <= 0 or block % hop:
        raise ParameterError(f"block_s must be a positive whole number of {HOP_S:g} s detector hops, "
                             f"given block_s={block_s}")
    k = max(1, -(-(n_samples - window) // block))  # ceil: the last block is longer than one window
    return [(i * block, (i + 1) * block + window - hop if i < k - 1 else n_samples) for i in range(k)]
