"""The answer of :func:`guard.watermark.verify`."""

from __future__ import annotations

from dataclasses import dataclass, field


def _segments_json(segments: list[tuple[float, float]]) -> list[list[float]]:
    return [[round(s, 3), round(e, 3)] for s, e in segments]


def _payload_hex(payload: int | None) -> str | None:
    return None if payload is None else f"{payload:08x}"


@dataclass(frozen=True)
class OtherMark:
    """A piece of the clip marked with another key or payload than the one reported.

    Attributes
    ----------
    segments : list of (start_s, end_s)
    key_index : int
        Which of the keys given matched it.
    payload : int or None
        Its own payload when its CRC checks (a piece too short to carry one has None).
    """

    segments: list[tuple[float, float]]
    key_index: int
    payload: int | None

    def to_dict(self) -> dict:
        return {"segments": _segments_json(self.segments), "key_index": self.key_index,
                "payload": _payload_hex(self.payload)}


@dataclass
class Verification:
    """Whether our mark is present, and what it carries.

    Attributes
    ----------
    detected : bool
        Our mark is present (``p_value`` at most the detection threshold).
    payload : int or None
        The 32-bit payload, only when its CRC checks; None otherwise.
    p_value : float
        Bound on the chance that unmarked audio scores this high, corrected for every
        offset, period phase and key tried, for the best 3 s window (or the whole clip).
    segments : list of (start_s, end_s)
        Marked parts of the clip in seconds (about 0.13 s steps, 0.5 s windows).
    reason : str
        One line for people: why it was or was not detected.
    key_index : int or None
        Which of the keys given matched.
    raw_payload : int or None
        The decoder's best 32 bits even when the check failed (for bit-accuracy figures;
        never trust it as a payload); None when not detected.
    speed : float
        Playback speed of the clip relative to the marked audio, when a speed search found
        the mark at another speed (``verify(speed_search=True)``); else 1.0.
    other_marks : list of OtherMark
        Pieces marked with another of the keys or another payload (clips joined together),
        in the clip's own time; ``segments`` and ``payload`` are the reported mark's only.
    """

    detected: bool
    payload: int | None
    p_value: float
    segments: list[tuple[float, float]] = field(default_factory=list)
    reason: str = ""
    key_index: int | None = None
    raw_payload: int | None = field(default=None, repr=False)
    speed: float = 1.0
    other_marks: list[OtherMark] = field(default_factory=list)

    def to_dict(self, file: str | None = None) -> dict:
        """The DESIGN.md JSON keys: file, detected, payload (8 hex digits or None), p_value, segments, reason; then key_index, speed and other_marks."""
        return {
            "file": file,
            "detected": self.detected,
            "payload": _payload_hex(self.payload),
            "p_value": self.p_value,
            "segments": _segments_json(self.segments),
            "reason": self.reason,
            "key_index": self.key_index,
            "speed": self.speed,
            "other_marks": [m.to_dict() for m in self.other_marks],
        }
