"""The verdict of a scan and its one-line reason, from the watermark, provenance and detector sections.

The order of evidence is fixed (:func:`decide`): our watermark (with its provenance record,
or what the ledger logged the payload for), then the detector's file score or a synthetic
part inside the file (:func:`synthetic_part`), else no evidence. A part that did not run is
said so and never counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from guard.errors import ParameterError

# after "no voiceguard watermark" in a reason, for a file scanned without --speed-search (see decide);
# the range of guard.watermark.verify.SPEED_FACTORS, as the option's help gives it
SPEED_HINT = " at its own speed (--speed-search also tries speeds x0.94-x1.06)"


def as_datetime(value: Any) -> datetime | None:
    """``value`` as a datetime (a datetime, or ISO 8601 text, ``Z`` allowed); None when it is neither."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def decide(watermark: dict, provenance: dict | None, detector: dict, *, threshold: float,
           suggest_speed_search: bool = False) -> tuple[str, str]:
    """The verdict and its one-line reason from the three pieces of evidence.

    Parameters
    ----------
    watermark : dict
        ``{detected, payload, p_value, reason}``; ``detected`` is None when not checked.
    provenance : dict or None
        The ledger record of the payload, or None when there is none (or no payload).
        ``kind`` ``"mark"``: the payload was logged by ``voiceguard watermark embed`` (audio this
        home marked, perhaps a real recording), not given to a generated clip; the verdict is
        still ``"watermarked"``, and the reason says so.
    detector : dict
        ``{p_synthetic, warning, speech}``; ``p_synthetic`` is None when the detector did
        not run; ``speech`` False (no voiced speech found) makes its score moot.
    threshold : float in [0, 1]
        ``p_synthetic`` at or above which an unmarked file is "likely-synthetic".
    suggest_speed_search : bool
        When the watermark was looked for and not found, say that it was looked for at the
        file's own speed only and that ``--speed-search`` tries others (:data:`SPEED_HINT`;
        for a scan without it, of a file long enough to carry a mark). Said whatever the
        detector says: a sped-up or slowed copy of a marked clip loses its mark, and the
        detector misses such copies of natural-sounding speech (p_synthetic under 0.01 for
        4 marked LibriSpeech clips at x0.956 and x1.04), so the hint cannot wait for it.

    Returns
    -------
    verdict : str, one of :data:`VERDICTS`
    reason : str (one line)
    """
    if not 0.0 <= threshold <= 1.0:
        raise ParameterError(f"threshold must be within [0, 1], given threshold={threshold}")
    if watermark.get("detected"):
        p = watermark.get("p_value")
        mark = "voiceguard watermark present" + (f" (p={p:.1e})" if p is not None else "")
        speed = watermark.get("speed")
        if speed not in (None, 1.0):
            mark += f" in a copy played at x{speed:.4f} speed"
        others = watermark.get("other_marks") or []
        # pieces of other generated clips joined into this one
        tail = "".join(f"; also a piece marked with payload {m.get('payload') or '(unread)'} at "
                       f"{m['segments'][0][0]:.1f}-{m['segments'][-1][1]:.1f} s" + _record_of(m.get("provenance"))
                       for m in others if m.get("segments"))
        payload = watermark.get("payload")
        owner = watermark.get("key_owner")
        if owner:
            mark += f" (the key trusted as {owner!r})"
        if payload is None:
            return "watermarked", f"{mark}; presence only: payload not readable{tail}"
        if owner:
            return "watermarked", (f"{mark}, payload {payload}: not looked up (a record of it, if any, is in "
                                   f"{owner}'s ledger; whoever holds that key can make such marks){tail}")
        if provenance is None:
            return "watermarked", f"{mark}, payload {payload}: no record of it in this home's ledger{tail}"
        if provenance.get("error"):
            return "watermarked", f"{mark}, payload {payload}: {provenance['error']}{tail}"
        if provenance.get("kind") == "mark":
            return "watermarked", f"{mark}, payload {payload}: {_mark_text(provenance)}{tail}"
        return "watermarked", (f"{mark}, payload {payload}: record {provenance.get('record_id')} "
                               f"(voice {provenance.get('voice_id')}, consent {provenance.get('consent_id')}: "
                               f"{provenance.get('consent_status_at_generation')} at generation, "
                               f"{provenance.get('consent_status_now')} now){tail}")
    if watermark.get("detected") is None:
        wm_text = f"watermark not checked ({watermark.get('reason')})"
    else:
        wm_text = "no voiceguard watermark" + (SPEED_HINT if suggest_speed_search else "")
    p_syn = detector.get("p_synthetic")
    if p_syn is None:
        return "no-evidence", f"{wm_text}; detector not run ({detector.get('warning')})"
    if detector.get("speech") is False:
        return "no-evidence", f"{wm_text}; detector does not apply: {detector.get('warning')}"
    caveat = (" (detector evidence only: it also flags some real recordings, e.g. very short, reverberant or "
              "pitch-shifted ones" + (f"; {detector['warning']}" if detector.get("warning") else "") + ")")
    if p_syn >= threshold:
        return "likely-synthetic", f"{wm_text}; detector p_synthetic={p_syn:.2f} >= threshold {threshold:.2f}{caveat}"
    part = synthetic_part(detector.get("segments") or [], threshold=threshold)
    if part is not None:  # a synthetic piece inside real audio or silence: the file's mean hides it
        start, end, top = part
        return "likely-synthetic", (f"{wm_text}; detector: {start:.1f}-{end:.1f} s scores likely synthetic "
                                    f"(p_synthetic up to {top:.2f}) though the whole file scores {p_syn:.2f}{caveat}")
    return "no-evidence", f"{wm_text}; detector p_synthetic={p_syn:.2f} < threshold {threshold:.2f}"


PART_WINDOWS = 2  # consecutive detector windows (3 s every 2 s: 5 s of audio) that make a synthetic part


def synthetic_part(segments: Sequence[Sequence[float]], *, threshold: float) -> tuple[float, float, float] | None:
    """The longest run of at least :data:`PART_WINDOWS` consecutive windows scoring ``p >= threshold``.

    Parameters
    ----------
    segments : sequence of (start_s, end_s, p_synthetic)
        The detector's windows in time order.
    threshold : float

    Returns
    -------
    (start_s, end_s, max p) or None
        One window alone is not enough: on 251 LibriSpeech recordings (median 14 s) a single
        window reached 0.5 in 12 files, two in a row in 2 (the file mean in none).

    Examples
    --------
    >>> synthetic_part([(0, 3, 0.1), (2, 5, 0.9), (4, 7, 0.95), (6, 9, 0.2)], threshold=0.5)
    (2.0, 7.0, 0.95)
    """
    best, run = None, []
    for start, end, p in list(segments) + [(0.0, 0.0, -1.0)]:  # a sentinel ends the last run
        if p >= threshold:
            run.append((float(start), float(end), float(p)))
            continue
        if len(run) >= PART_WINDOWS and (best is None or len(run) > best[0]):
            best = (len(run), (run[0][0], run[-1][1], max(r[2] for r in run)))
        run = []
    return None if best is None else best[1]


def _marked_on(provenance: dict) -> str:
    """The date (``2026-01-31``) a mark's record was made, from its ``created_at``."""
    when = as_datetime(provenance.get("created_at"))
    return when.date().isoformat() if when is not None else "an unknown date"


def _mark_text(provenance: dict) -> str:
    """What a scan reason says of a payload the ledger logged as a mark (``audio.marked``), not a clip."""
    return (f"marked with `voiceguard watermark embed` on {_marked_on(provenance)} (record "
            f"{provenance.get('record_id')}, ledger event {provenance.get('seq')}; audio this home marked, not a "
            f"generated clip: no voice or consent behind it)")


def _record_of(provenance: dict | None) -> str:
    """`` (record R, voice V, consent C: S now)`` for an other mark's provenance, or nothing."""
    if not provenance or not provenance.get("record_id"):
        return ""
    if provenance.get("kind") == "mark":
        return (f" (marked with `voiceguard watermark embed` on {_marked_on(provenance)}, record "
                f"{provenance['record_id']}: not a generated clip)")
    return (f" (record {provenance['record_id']}, voice {provenance.get('voice_id')}, consent "
            f"{provenance.get('consent_id')}: {provenance.get('consent_status_now')} now)")
