"""Keyed spread-spectrum audio watermark: 32-bit payload, sync, ECC, p-value, localization.

>>> marked = embed(y, sample_rate=16000, payload=0x1234ABCD, key=key)  # doctest: +SKIP
>>> verify(marked, sample_rate=16000, keys=[key]).payload == 0x1234ABCD  # doctest: +SKIP
True
"""

from guard.watermark.embed import MIN_PAYLOAD_S, embed
from guard.watermark.result import OtherMark, Verification
from guard.watermark.verify import MIN_PRESENCE_S, P_THRESHOLD, verify

__all__ = ["MIN_PAYLOAD_S", "MIN_PRESENCE_S", "P_THRESHOLD", "OtherMark", "Verification", "embed", "verify"]
