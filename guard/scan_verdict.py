"""The verdict of a scan and its one-line reason, from the watermark, provenance and detector sections.

The order of evidence is fixed (:func:`decide`): our watermark (with its provenance record,
or what the ledger logged the payload for), then the detector's file score or a synthetic
part inside the file (:func:`synthetic_part`), else no evidence. A part that did not run is
said so and never counted.

The verdict names the first evidence found, not all of it: a watermarked file's reason also
names where the mark is when it covers only part of the file (:func:`where_marked`), and a
synthetic part outside every marked segment (:func:`unmarked_synthetic_part`), which the mark
does not vouch for.
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
           suggest_speed_search: bool = False, duration_s: float | None = None) -> tuple[str, str]:
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
    duration_s : float >= 0, optional
        Length of the file. With it, the reason of a watermarked file says where the mark is
        when it leaves at least :data:`PARTIAL_MARK_S` of the file unmarked
        (:func:`where_marked`).

    Returns
    -------
    verdict : str, one of :data:`VERDICTS`
    reason : str (one line)
        A watermarked file's also names a synthetic part outside every marked segment
        (:func:`unmarked_synthetic_part`): the verdict says whose mark is in the file, and
        a mark on one piece vouches for nothing else in it.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ParameterError(f"threshold must be within [0, 1], given threshold={threshold}")
    if watermark.get("detected"):
        return "watermarked", (_watermark_reason(watermark, provenance, duration_s=duration_s)
                               + _unmarked_part_text(watermark, detector, threshold=threshold))
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


def _watermark_reason(watermark: dict, provenance: dict | None, *, duration_s: float | None) -> str:
    """The reason of a file our watermark was found in: the mark (where, how sure), its payload and its record."""
    p = watermark.get("p_value")
    mark = "voiceguard watermark present" + (f" (p={p:.1e})" if p is not None else "")
    mark += where_marked(watermark.get("segments") or [], duration_s=duration_s)
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
        return f"{mark}; presence only: payload not readable{tail}"
    if owner:
        return (f"{mark}, payload {payload}: not looked up (a record of it, if any, is in "
                f"{owner}'s ledger; whoever holds that key can make such marks){tail}")
    if provenance is None:
        return f"{mark}, payload {payload}: no record of it in this home's ledger{tail}"
    if provenance.get("error"):
        return f"{mark}, payload {payload}: {provenance['error']}{tail}"
    if provenance.get("kind") == "mark":
        return f"{mark}, payload {payload}: {_mark_text(provenance)}{tail}"
    return (f"{mark}, payload {payload}: record {provenance.get('record_id')} "
            f"(voice {provenance.get('voice_id')}, consent {provenance.get('consent_id')}: "
            f"{provenance.get('consent_status_at_generation')} at generation, "
            f"{provenance.get('consent_status_now')} now){tail}")


def _unmarked_part_text(watermark: dict, detector: dict, *, threshold: float) -> str:
    """``; detector: A-B s, outside the watermarked ..., scores likely synthetic (...)``, or nothing."""
    part = unmarked_synthetic_part(watermark, detector, threshold=threshold)
    if part is None:
        return ""
    start, end, top = part
    return (f"; detector: {start:.1f}-{end:.1f} s, outside the watermarked {spans_text(marked_spans(watermark))}, "
            f"scores likely synthetic (p_synthetic up to {top:.2f}; detector evidence only)")


PARTIAL_MARK_S = 1.0  # unmarked seconds in a watermarked file from which its reason says where the mark is
SPANS_NAMED = 3  # spans a reason names before it counts the rest


def spans_text(spans: Sequence[Sequence[float]]) -> str:
    """Time spans as a reason names them: ``4.0-8.0 s``, ``3.0-7.0 s and 12.0-16.9 s``, or the
    first :data:`SPANS_NAMED` and ``and N more``.

    Examples
    --------
    >>> spans_text([(3.0, 7.03), (12.0, 16.94)])
    '3.0-7.0 s and 12.0-16.9 s'
    >>> spans_text([(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)])
    '0.0-1.0 s, 2.0-3.0 s, 4.0-5.0 s and 2 more'
    """
    named = [f"{a:.1f}-{b:.1f} s" for a, b, *_ in spans[:SPANS_NAMED]]
    rest = len(spans) - len(named)
    if rest:
        return ", ".join(named) + f" and {rest} more"
    return " and ".join(named) if len(named) <= 2 else ", ".join(named[:-1]) + f" and {named[-1]}"


def where_marked(segments: Sequence[Sequence[float]], *, duration_s: float | None) -> str:
    """`` in 4.0-8.0 s of 12.0 s`` for a mark that leaves at least :data:`PARTIAL_MARK_S` of the file unmarked.

    Parameters
    ----------
    segments : sequence of (start_s, end_s)
        The marked segments (disjoint, in time order).
    duration_s : float or None
        Length of the file; None says nothing.

    Returns
    -------
    str
        Empty where the mark covers (nearly) the whole file, or either is unknown: the
        verifier's segments end some tens of ms inside a fully marked file.

    Examples
    --------
    >>> where_marked([(4.048, 8.016)], duration_s=12.0)
    ' in 4.0-8.0 s of 12.0 s'
    >>> where_marked([(0.0, 11.84)], duration_s=11.855)
    ''
    """
    if not segments or duration_s is None:
        return ""
    marked_s = sum(max(0.0, float(b) - float(a)) for a, b in segments)
    if duration_s - marked_s < PARTIAL_MARK_S:
        return ""
    return f" in {spans_text(segments)} of {duration_s:.1f} s"


def marked_spans(watermark: dict) -> list[tuple[float, float]]:
    """Every span of the file a voiceguard mark was found in (ours and other marks' pieces), in time order."""
    spans = [(float(a), float(b)) for a, b in watermark.get("segments") or []]
    for other in watermark.get("other_marks") or []:
        spans += [(float(a), float(b)) for a, b in other.get("segments") or []]
    return sorted(spans)


def unmarked_synthetic_part(watermark: dict, detector: dict, *,
                            threshold: float) -> tuple[float, float, float] | None:
    """:func:`synthetic_part` of the detector windows that overlap no marked span (:func:`marked_spans`).

    A window that overlaps a marked span breaks a run: the marked audio is accounted for
    by its mark (a generated clip scores synthetic, as it should). In a file without a mark
    this is :func:`synthetic_part` of all windows.

    Parameters
    ----------
    watermark : dict
        The scan's watermark section (``segments``, ``other_marks``).
    detector : dict
        The scan's detector section (``p_synthetic``, ``speech``, ``segments``).
    threshold : float in [0, 1]

    Returns
    -------
    (start_s, end_s, max p) or None
        None also where the detector did not run or does not apply (no voiced speech).

    Examples
    --------
    >>> windows = [(t, t + 3.0, 0.9) for t in range(0, 12, 2)]
    >>> unmarked_synthetic_part({"segments": [[6.0, 12.0]]}, {"p_synthetic": 0.2, "segments": windows}, threshold=0.5)
    (0.0, 5.0, 0.9)
    """
    if detector.get("p_synthetic") is None or detector.get("speech") is False:
        return None
    marked = marked_spans(watermark)
    windows = [(a, b, -1.0 if any(a < end and b > start for start, end in marked) else p)
               for a, b, p in detector.get("segments") or []]
    return synthetic_part(windows, threshold=threshold)


def p_synthetic_cell(verdict: str, watermark: dict | None, detector: dict | None, *, threshold: float) -> str:
    """The P_SYN cell of the table and the report: the file's p_synthetic, ``-`` where the detector did not
    run, ``n/a`` where it does not apply (no voiced speech), and the starred peak of a synthetic part
    that the reason names (a likely-synthetic or a watermarked file's) where the file scores lower.

    Examples
    --------
    >>> det = {"p_synthetic": 0.1, "segments": [(0, 3, 0.2), (2, 5, 0.9), (4, 7, 0.8)]}
    >>> p_synthetic_cell("likely-synthetic", {}, det, threshold=0.5)
    '0.90*'
    >>> p_synthetic_cell("no-evidence", {}, {**det, "speech": False}, threshold=0.5)
    'n/a'
    """
    watermark, detector = watermark or {}, detector or {}
    p_syn = detector.get("p_synthetic")
    if p_syn is None:
        return "-"
    if detector.get("speech") is False:
        return "n/a"
    if verdict in ("likely-synthetic", "watermarked") and p_syn < threshold:
        part = unmarked_synthetic_part(watermark, detector, threshold=threshold)
        if part is not None:
            return f"{part[2]:.2f}*"
    return f"{p_syn:.2f}"


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
