"""Read the 32-bit payload of a found mark: soft bits of the data groups, weighed by reliability, list-decoded."""

from __future__ import annotations

import numpy as np

from guard.watermark import coding, features
from guard.watermark.layout import CODED_BITS, CRC_BITS, DATA_PERIODS, PERIOD_SLOTS
from guard.watermark.levels import class_mean
from guard.watermark.presence import Hypothesis
from guard.watermark.scorer import Scorer

_READINGS = ((True, True), (False, True), (True, False), (False, False))  # (marked part only, reliability weights)
# the chance that a CRC checks on some path tried, whatever the audio
# (4 readings x 2 data phases x LIST_SIZE paths x 2**-16)
CRC_CHANCE = len(_READINGS) * DATA_PERIODS * coding.LIST_SIZE * 2.0**-CRC_BITS


def read_payload(scorer: Scorer, h: Hypothesis, marked: np.ndarray) -> tuple[int | None, bool, int]:
    """The payload of hypothesis ``h``: (bits, whether its CRC checked, the data phase read).

    A few readings (marked part or whole clip, with or without the reliability weights),
    each at both phases of the data cycle (the sync groups fix the phase within one period
    only) and list-decoded (coding.LIST_SIZE best paths); the first path whose CRC checks
    wins. Every path tried adds 2**-16 to the chance of a wrong payload: at most CRC_CHANCE
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
    m = np.clip(class_mean(level, sync, cos), 0.0, 0.95)
    return m * (2 - m**2) / (1 - m**2)  # Banerjee et al.'s approximation of A1^-1(m)


def _soft_bits(scorer: Scorer, h: Hypothesis, use: np.ndarray, *, weigh: bool) -> np.ndarray:
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
