"""The answer of :func:`guard.watermark.verify`."""

from __future__ import annotations

from collections.abc import Sequence
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


def join(parts: Sequence[tuple[float, Verification]], *, unit: str) -> Verification:
    """One :class:`Verification` of a clip from those of its pieces (chunks or blocks), which may overlap.

    Parameters
    ----------
    parts : sequence of (start_s, Verification)
        Each piece's start in the clip (seconds) and its verification, in time order.
    unit : str
        What a piece is called in the reason ("chunks", "blocks").

    Returns
    -------
    Verification
        Detected when any piece is; the payload, key and speed of the best piece (a payload
        read first, then the smallest p-value); ``p_value`` the smallest (each piece's is
        already for a 3 s window, as the design's false-alarm rate is); the segments of that
        mark in every piece, in clip time and joined where they overlap; pieces of other
        keys or payloads as ``other_marks``, one per (key, payload), joined the same way.
    """
    found = [(t0, v) for t0, v in parts if v.detected]
    if not found:
        if all("silent" in v.reason for _, v in parts):
            return Verification(False, None, 1.0, [], "nothing to check: the audio is silent")
        best = min((v for _, v in parts), key=lambda v: v.p_value)  # the piece closest to a mark says why not
        return Verification(False, None, best.p_value, [], best.reason, speed=best.speed)
    best = min((v for _, v in found), key=lambda v: (v.payload is None, v.p_value))

    def same(key_index: int | None, payload: int | None) -> bool:  # the reported mark (payload unread, or the same)
        return key_index == best.key_index and (payload is None or best.payload is None or payload == best.payload)

    groups: dict[tuple[int | None, int | None], list[tuple[float, float]]] = {}
    for t0, v in found:
        for key_index, payload, spans in [(v.key_index, v.payload, v.segments)] + [
                (m.key_index, m.payload, m.segments) for m in v.other_marks]:
            group = (best.key_index, best.payload) if same(key_index, payload) else (int(key_index or 0), payload)
            groups.setdefault(group, []).extend((round(a + t0, 3), round(b + t0, 3)) for a, b in spans)
    mine = _joined(groups.pop((best.key_index, best.payload), []))
    others = [OtherMark(_joined(spans), int(key_index or 0), payload) for (key_index, payload), spans in groups.items()]
    p_value = min(v.p_value for _, v in found)
    reason = (f"watermark found in {len(found)} of {len(parts)} {unit} (p={p_value:.2g}); "
              + ("payload read" if best.payload is not None else "payload unreadable (check failed)")
              + (f" (played at x{best.speed:.4f} speed: undone before reading)" if best.speed != 1.0 else ""))
    return Verification(True, best.payload, p_value, mine, reason, best.key_index, best.raw_payload,
                        speed=best.speed, other_marks=others)


def _joined(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``spans`` sorted, overlapping ones joined."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
