"""Error correction for the payload: CRC-16 check, rate-1/2 K=7 convolutional code, soft Viterbi."""

from __future__ import annotations

import numpy as np

from guard.watermark.layout import CONSTRAINT, CRC_BITS, PAYLOAD_BITS

_POLYS = (0o171, 0o133)  # the NASA K=7 pair, free distance 10
_CRC_POLY = 0x1021
_N_STATES = 1 << (CONSTRAINT - 1)


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


def decode_bits(llr: np.ndarray) -> tuple[int, bool]:
    """Soft Viterbi decoding: the most likely 32 payload bits and whether their CRC checks."""
    soft = np.asarray(llr, dtype=np.float64).reshape(-1, 2)
    sign = 1.0 - 2.0 * _OUT.astype(np.float64)  # +1 for bit 0
    metric = np.full(_N_STATES, -np.inf)
    metric[0] = 0.0
    history = []
    prev_state = np.repeat(np.arange(_N_STATES), 2)
    prev_bit = np.tile([0, 1], _N_STATES)
    dest = _NEXT.reshape(-1)
    for step in range(soft.shape[0]):
        branch_gain = (sign * soft[step]).sum(axis=2).reshape(-1)
        cand = metric[prev_state] + branch_gain
        new = np.full(_N_STATES, -np.inf)
        choice = np.zeros(_N_STATES, dtype=np.int64)
        order = np.argsort(cand, kind="stable")  # later (larger) writes win
        new[dest[order]] = cand[order]
        choice[dest[order]] = order
        metric = new
        history.append(choice)
    state = 0  # zero tail
    bits = []
    for choice in reversed(history):
        idx = choice[state]
        bits.append(int(prev_bit[idx]))
        state = int(prev_state[idx])
    bits.reverse()
    info = bits[: PAYLOAD_BITS + CRC_BITS]
    payload = int("".join(map(str, info[:PAYLOAD_BITS])), 2)
    crc = int("".join(map(str, info[PAYLOAD_BITS:])), 2)
    return payload, crc == crc16(payload)
