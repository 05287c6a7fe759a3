"""Error correction for the payload: CRC-16 check, rate-1/2 K=7 convolutional code, soft (list) Viterbi."""

from __future__ import annotations

import numpy as np

from guard.errors import ParameterError
from guard.watermark.layout import CONSTRAINT, CRC_BITS, PAYLOAD_BITS

_POLYS = (0o171, 0o133)  # the NASA K=7 pair, free distance 10
_CRC_POLY = 0x1021
_N_STATES = 1 << (CONSTRAINT - 1)
# The verifier keeps this many best paths and takes the first whose CRC checks (list
# Viterbi decoding). Each path tried is one more chance, 2**-16, that a wrong payload
# passes the check; the verifier charges it in its p-value and its false-payload bound.
LIST_SIZE = 8


def crc16(payload: int) -> int:
    """CRC-16/CCITT of the 4 big-endian bytes of a 32-bit payload."""
    crc = 0xFFFF
    for byte in payload.to_bytes(4, "big"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _CRC_POLY) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def _bits(value: int, n: int) -> list[int]:
    return [(value >> (n - 1 - i)) & 1 for i in range(n)]


def _parity(x: int) -> int:
    return bin(x).count("1") & 1


# Output pair of each (state, input bit), state = last K-1 inputs, newest in the high bit.
_NEXT = np.zeros((_N_STATES, 2), dtype=np.int64)
_OUT = np.zeros((_N_STATES, 2, 2), dtype=np.int8)
for _s in range(_N_STATES):
    for _b in range(2):
        _reg = (_b << (CONSTRAINT - 1)) | _s
        _NEXT[_s, _b] = _reg >> 1
        _OUT[_s, _b] = [_parity(_reg & p) for p in _POLYS]


# The two (state, input bit) pairs that lead into each state, and their coded outputs.
_PRED_STATE = np.zeros((_N_STATES, 2), dtype=np.int64)
_PRED_BIT = np.zeros((_N_STATES, 2), dtype=np.int64)
_PRED_OUT = np.zeros((_N_STATES, 2, 2), dtype=np.int8)
_filled = np.zeros(_N_STATES, dtype=np.int64)
for _s in range(_N_STATES):
    for _b in range(2):
        _d = _NEXT[_s, _b]
        _PRED_STATE[_d, _filled[_d]], _PRED_BIT[_d, _filled[_d]] = _s, _b
        _PRED_OUT[_d, _filled[_d]] = _OUT[_s, _b]
        _filled[_d] += 1


def encode(payload: int) -> np.ndarray:
    """Payload + CRC + zero tail -> coded bits.

    Returns
    -------
    np.ndarray [shape=(CODED_BITS,), dtype=int8]
    """
    info = _bits(payload, PAYLOAD_BITS) + _bits(crc16(payload), CRC_BITS) + [0] * (CONSTRAINT - 1)
    state, out = 0, []
    for b in info:
        out.extend(_OUT[state, b])
        state = _NEXT[state, b]
    return np.array(out, dtype=np.int8)


def decode(llr: np.ndarray) -> int | None:
    """Soft Viterbi decoding; the payload when its CRC checks, else None.

    Parameters
    ----------
    llr : np.ndarray [shape=(CODED_BITS,)]
        Soft values, positive for bit 0 (any scale); 0 means erased.
    """
    payload, ok = decode_bits(llr)
    return payload if ok else None


def decode_list(llr: np.ndarray, size: int = LIST_SIZE) -> tuple[int, bool, int]:
    """List Viterbi decoding: the first of the ``size`` most likely paths whose CRC checks.

    Parameters
    ----------
    llr : np.ndarray [shape=(CODED_BITS,)]
        Soft values, positive for bit 0 (any scale); 0 means erased.
    size : int >= 1
        Paths kept per state (1 is plain Viterbi).

    Returns
    -------
    payload : int
        The checked payload, or the most likely path's payload when none checks.
    ok : bool
        Whether a path's CRC checked.
    tried : int
        Paths whose CRC was tested (at most ``size``).
    """
    if size < 1:
        raise ParameterError(f"size must be >= 1, given {size}")
    soft = np.asarray(llr, dtype=np.float64).reshape(-1, 2)
    branch_sign = 1.0 - 2.0 * _PRED_OUT.astype(np.float64)  # (state, 2 predecessors, 2 coded bits)
    metric = np.full((_N_STATES, size), -np.inf)
    metric[0, 0] = 0.0
    back = []  # per step: (state, rank) -> index into the 2 * size candidates of that state
    for step in range(soft.shape[0]):
        gain = (branch_sign * soft[step]).sum(axis=2)  # (state, 2)
        cand = (metric[_PRED_STATE] + gain[:, :, None]).reshape(_N_STATES, 2 * size)
        order = np.argsort(-cand, axis=1, kind="stable")[:, :size]
        metric = np.take_along_axis(cand, order, axis=1)
        back.append(order)
    tried = 0
    first: int | None = None
    for rank in range(size):
        if not np.isfinite(metric[0, rank]):
            break
        bits, state, r = [], 0, rank
        for order in reversed(back):
            j, r_prev = divmod(int(order[state, r]), size)
            bits.append(int(_PRED_BIT[state, j]))
            state, r = int(_PRED_STATE[state, j]), r_prev
        bits.reverse()
        payload = int("".join(map(str, bits[:PAYLOAD_BITS])), 2)
        crc = int("".join(map(str, bits[PAYLOAD_BITS:PAYLOAD_BITS + CRC_BITS])), 2)
        tried += 1
        first = payload if first is None else first
        if crc == crc16(payload):
            return payload, True, tried
    return (first if first is not None else 0), False, tried


def decode_bits(llr: np.ndarray) -> tuple[int, bool]:
    """Soft Viterbi decoding (a list of one): the most likely 32 payload bits and whether their CRC checks."""
    payload, ok, _ = decode_list(llr, 1)
    return payload, ok
