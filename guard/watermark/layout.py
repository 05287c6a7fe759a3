"""The watermark's fixed geometry and the keyed patterns drawn from a key.

Everything here is shared by the embedder and the verifier; changing a constant changes
the mark (bump :data:`VERSION`).

Geometry (at the internal rate of 16 kHz): a *slot* is 1024 samples (64 ms); the
400-5450 Hz range is split into 32 mel-spaced sub-bands (the lower 24, to 3300 Hz, inside
what telephone channels keep; the upper 8 where speech codecs at 24-32 kbit/s still keep
the speech); a *group* is 4 adjacent sub-bands of one slot, and a *cell* one sub-band of
one slot. Each group carries one
dither-modulated value on the projection of its 4 log-powers onto the chip
+-(1, -1, -1, 1) / 2 (keyed sign), orthogonal to a constant and to a linear slope, so
gains, filter edges and spectral tilts cancel and the codecs' time smearing is common to
the 4 cells. The lattice step grows with frequency (:data:`STEP`, one per group band):
the lowest groups hold most of the speech's loudness, so a change there costs the most
PESQ, while higher groups take a coarser lattice (more robust to codec noise) at little
cost. 60 % of the groups (keyed) sit on a keyed dither lattice and give presence and
alignment; the others carry coded payload bits as binary dither modulation. Sync groups,
dithers and chips repeat every :data:`PERIOD_SLOTS` slots (3.07 s), the data bits every
:data:`DATA_PERIODS` periods (each bit in both halves of the band range); any
PERIOD_SLOTS consecutive slots hold every coded bit at least once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from guard.errors import ParameterError

VERSION = 6
RATE = 16_000
CELL = 1024
CELLS_PER_SLOT = 4  # sub-bands per group
SLOT = CELL
HOP = 64  # analysis hop of the verifier: 16 candidate grid offsets per slot
OFFSETS = SLOT // HOP
N_FFT = 512
N_BANDS = 8  # groups per slot
N_SUB = N_BANDS * CELLS_PER_SLOT
# Version 5 split 400-3300 Hz (inside what telephone channels keep, clear of their filter
# edges) into 24 mel-spaced sub-bands. Version 6 keeps those and adds 8 more at the same
# mel spacing, up to 5.45 kHz: two group bands that telephone channels and 8 kHz resampling
# remove (their groups then weigh next to nothing) but MP3/AAC/Opus at 24-32 kbit/s keep.
# On 30 espeak-ng clips, 3 s windows every 0.5 s (600): median log10 p after AAC 32k -19.3
# instead of -13.3 and every window found (0.980 before), after Opus 24k -17.5 / -12.6
# (1.000 / 0.993), white noise 30 dB -42.1 / -32.8; after the telephone chain, 8 kHz
# resampling and a 3.5 kHz lowpass within 3 % of version 5; SNR 0.55 dB lower, PESQ-wb the same.
_MEL_EDGES_V5 = 2595 * np.log10(1 + np.array([400.0, 3300.0]) / 700)
_MEL = _MEL_EDGES_V5[0] + (_MEL_EDGES_V5[1] - _MEL_EDGES_V5[0]) / 24 * np.arange(N_SUB + 1)
SUB_EDGES_HZ = tuple(float(f) for f in 700 * (10 ** (_MEL / 2595) - 1))  # mel-spaced, 2 to 10 bins wide
LOW_HZ, HIGH_HZ = SUB_EDGES_HZ[0], SUB_EDGES_HZ[-1]
PERIOD_SLOTS = 48
PERIOD_S = PERIOD_SLOTS * SLOT / RATE
# Lattice step of each group band's projection [shape=(N_BANDS,)], natural-log power units.
# Chosen with the embedder's within-group shaping and edge smoothing (guard.watermark.embed)
# on 30 espeak-ng, 30 LibriSpeech and 30 cloned 10 s clips (not the benchmark's seeds):
# the largest steps that keep espeak-ng speech, the most sensitive, at a mean SNR near
# 26.5 dB and PESQ-wb near 4.5. Version 3 used 0.8 in every band. Version 6's two upper
# bands continue the progression.
STEP = np.array([0.8, 0.9, 1.5, 1.75, 2.1, 2.35, 2.6, 2.85])
STEP.setflags(write=False)
# Share of sync groups. Version 3 used 0.4; with the coarser steps the payload of 10 s
# clips survives MP3/AAC/Opus with room to spare, and 0.6 buys presence in 3 s windows
# (z grows with the square root of the sync groups) at the cost of the 5 s payload rate.
SYNC_FRACTION = 0.6
PAYLOAD_BITS = 32
CRC_BITS = 16
CONSTRAINT = 7
CODED_BITS = 2 * (PAYLOAD_BITS + CRC_BITS + CONSTRAINT - 1)


# The data groups' bits follow a two-period cycle (see Pattern.bit_index): a filter that
# removes a band range, or clipping that ruins the loud low bands, erases a bit's copy in
# one period but not in the other. The verifier, which finds the phase within one period
# from the sync groups, reads the payload at both phases of the cycle.
DATA_PERIODS = 2
_BAND_SHIFT = N_BANDS // 2

# +-(1, -1, -1, 1) / 2: orthogonal to a constant and to a linear slope of log-power across
# the group, so gains, filter edges and spectral tilts move no projection
_TILT_FREE_CHIP = np.array([1.0, -1.0, -1.0, 1.0]) / 2


@dataclass(frozen=True)
class Pattern:
    """Keyed pattern of one key.

    Attributes
    ----------
    dither : np.ndarray [shape=(PERIOD_SLOTS, N_BANDS)]
        Lattice offset of each group, in [0, STEP of its band).
    chips : np.ndarray [shape=(PERIOD_SLOTS, N_BANDS, CELLS_PER_SLOT)]
        Unit-norm tilt-free chips (+-(0.5, -0.5, -0.5, 0.5), keyed sign) of each group.
    bit_index : np.ndarray [shape=(DATA_PERIODS * PERIOD_SLOTS, N_BANDS), dtype=int]
        Which coded bit each data group carries (-1 for sync groups), over two periods:
        the second period carries the bit of group (s, b) of the first at
        (s, b - N_BANDS / 2), cyclically, so every bit is read in both halves of the band
        range, and any PERIOD_SLOTS consecutive slots still hold every bit.
    is_sync : np.ndarray [shape=(PERIOD_SLOTS, N_BANDS), dtype=bool]
        Sync groups sit on the lattice itself (presence); the others carry a coded bit.
        Unchanged by that shift (bands b and b + N_BANDS / 2 of a slot are both sync or
        both data), so both periods have the same data groups.
    """

    dither: np.ndarray
    chips: np.ndarray
    bit_index: np.ndarray
    is_sync: np.ndarray


MIN_KEY_BYTES = 16  # 128 bits: a shorter key could be found by trying keys on a marked clip


def check_key(key: object, *, name: str = "key") -> bytes:
    """Return ``key`` as bytes of at least :data:`MIN_KEY_BYTES`, or raise ParameterError."""
    if not isinstance(key, (bytes, bytearray)):
        raise ParameterError(f"{name} must be bytes (a home's keys are {MIN_KEY_BYTES * 2}), given {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ParameterError(f"{name} must hold at least {MIN_KEY_BYTES} bytes, given {len(key)}")
    return bytes(key)


@lru_cache(maxsize=64)
def pattern(key: bytes) -> Pattern:
    """Draw the keyed pattern of ``key`` (deterministic, cached)."""
    digest = hashlib.sha256(b"voiceguard-watermark-v%d|" % VERSION + check_key(key)).digest()
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "little")))
    shape = (PERIOD_SLOTS, N_BANDS)
    dither = rng.uniform(0.0, STEP, size=shape)
    sign = rng.choice([-1.0, 1.0], size=shape)
    chips = sign[..., None] * _TILT_FREE_CHIP
    # each sync choice covers a group and its image under the shift
    half = (PERIOD_SLOTS, _BAND_SHIFT)
    n_pairs = half[0] * half[1]
    chosen = (rng.permutation(n_pairs) < round(SYNC_FRACTION * n_pairs)).reshape(half)
    is_sync = np.concatenate([chosen, chosen], axis=1)
    n_data = int((~is_sync).sum())
    first = np.full(shape, -1)
    first[~is_sync] = rng.permutation(np.arange(n_data) % CODED_BITS)
    bit_index = np.concatenate([first, np.roll(first, -_BAND_SHIFT, axis=1)])
    for arr in (dither, chips, bit_index, is_sync):
        arr.setflags(write=False)
    return Pattern(dither, chips, bit_index, is_sync)


def band_matrix(n_fft: int = N_FFT) -> np.ndarray:
    """0/1 matrix [shape=(n_fft // 2 + 1, N_SUB)] mapping rfft bins to sub-bands."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / RATE)
    m = np.zeros((freqs.shape[0], N_SUB), dtype=np.float32)
    for b in range(N_SUB):
        m[(freqs >= SUB_EDGES_HZ[b]) & (freqs < SUB_EDGES_HZ[b + 1]), b] = 1.0
    return m
