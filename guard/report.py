"""The scan report: one self-contained HTML file (figures embedded as base64 PNG).

A summary table (file, verdict, reason, payload, p_synthetic) links to one section per file:
its spectrogram with the watermark timeline (marked segments) and the detector timeline
(per-window p_synthetic) under it on the same time axis, the same spans as a table of times
(marked segments, pieces of other marks, runs of windows at or over the threshold), the
provenance and consent details, the C2PA manifest check and the verdict. Figures are drawn
with matplotlib's Agg backend; nothing is fetched when the file is opened.

Each figure is a 256-colour PNG whose spectrogram is drawn in :data:`SPECTRO_DB_STEP` steps
and at most :data:`SPECTRO_COLUMNS` columns (about 3 pixels each): a noisy truecolour
spectrogram does not compress, and took 240 KB of the report per file; now about 40 KB.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from guard import progress
from guard.errors import GuardError, ParameterError
from guard.plaintext import printable
from guard.replace import replace_keeping_mode
from guard.scan_result import ScanResult
from guard.scan_verdict import p_synthetic_cell

COLORS = {"watermarked": "#1f6feb", "likely-synthetic": "#d1242f", "no-evidence": "#1a7f37", "error": "#6e7781"}
SPECTRO_COLUMNS = 320  # time columns of the drawn spectrogram (neighbouring frames averaged in power)
SPECTRO_DB_STEP = 2.0  # its levels, dB: 40 steps over the 80 dB shown, too fine to see
MAX_SPAN_ROWS = 40  # rows of each kind in a file's table of spans; the rest are counted
# under the summary when a p_synthetic is starred (guard.scan_verdict.p_synthetic_cell), as under the CLI's table
STAR_NOTE = "* the peak of a synthetic part inside the file; the file as a whole scores lower"
_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#1f2328;padding:0 16px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:17px;margin:0 0 8px;word-break:break-all}
.muted{color:#59636e;font-size:13px} .notes li{color:#9a6700;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0 20px}
th,td{border-bottom:1px solid #d1d9e0;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;white-space:nowrap} td.num{text-align:right;font-variant-numeric:tabular-nums}
table.summary,.grid table{table-layout:fixed} table.summary td,.grid td{overflow-wrap:anywhere}
.grid th{width:42%;white-space:normal}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600;white-space:nowrap}
section.file{border:1px solid #d1d9e0;border-radius:8px;padding:14px 16px;margin:0 0 22px;page-break-inside:avoid}
section.file img{width:100%;max-width:1100px;display:block;margin:8px 0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:10px}
.grid{align-items:start} .grid table{margin:0} .grid caption{text-align:left;font-weight:600;padding:2px 0}
.reason{margin:6px 0;font-size:14px} .counts span{margin-right:14px}
table.spans{width:auto;min-width:50%} table.spans caption{text-align:left;font-weight:600;padding:2px 0}
a{color:#0969da;text-decoration:none}
"""


def _esc(value: object) -> str:
    """``value`` as HTML text: escaped, and made printable (a file name's bytes that are not UTF-8 as ``\\xNN``)."""
    return html.escape(printable("-" if value is None else str(value), controls=True))


def _applies(detector: dict) -> bool:
    """Whether the detector ran and applies to the file (it found voiced speech): else it has no spans or score."""
    return detector.get("p_synthetic") is not None and detector.get("speech") is not False


def _badge(verdict: str) -> str:
    return f'<span class="badge" style="background:{COLORS.get(verdict, "#6e7781")}">{_esc(verdict)}</span>'


def figure_png(result: ScanResult, *, threshold: float, dpi: int = 90) -> bytes | None:
    """Spectrogram over the watermark and detector timelines, as PNG bytes.

    Parameters
    ----------
    result : ScanResult
        Needs ``result.overview`` (scan with ``keep_overview=True``); None is returned without.
    threshold : float in [0, 1]
        Drawn as a dashed line on the detector timeline.
    dpi : int > 0

    Returns
    -------
    bytes or None
    """
    view = result.overview
    if view is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    end_s = max(view.duration_s, 1e-3)
    fig = Figure(figsize=(11, 4.4), dpi=dpi, layout="constrained")
    spec_ax, wm_ax, det_ax = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3.2, 0.7, 1.3]})
    spec_ax.imshow(display_db(view.image_db, max_columns=SPECTRO_COLUMNS), origin="lower", aspect="auto", cmap="magma",
                   extent=(0, end_s, 0, view.max_freq_hz / 1000), vmin=-80, vmax=0, interpolation="nearest")
    spec_ax.set_ylabel("kHz")
    spec_ax.set_title("spectrogram", loc="left", fontsize=10)
    _watermark_track(wm_ax, result.watermark or {}, end_s=end_s)
    _detector_track(det_ax, result.detector or {}, end_s=end_s, threshold=threshold)
    det_ax.set_xlabel("time (s)")
    det_ax.set_xlim(0, end_s)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    # a figure holds some 300-500 colours (the spectrogram's levels, anti-aliased text): 256 lose nothing visible
    buf = io.BytesIO()
    rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(buf, format="PNG")
    return buf.getvalue()


def display_db(image_db: np.ndarray, *, max_columns: int, step_db: float = SPECTRO_DB_STEP) -> np.ndarray:
    """A spectrogram as drawn: at most ``max_columns`` columns, levels rounded to ``step_db``.

    Parameters
    ----------
    image_db : np.ndarray [shape=(n_bands, n_frames)]
        Power in dB (:attr:`guard.scan_overview.Overview.image_db`).
    max_columns : int > 0
        Neighbouring frames are averaged in power, ``ceil(n_frames / max_columns)`` to a
        column (the last column may average fewer).
    step_db : float > 0

    Returns
    -------
    np.ndarray [shape=(n_bands, <= max_columns), dtype=float32]

    Examples
    --------
    >>> display_db(np.array([[0.0, -10.0, -3.0]]), max_columns=2, step_db=1.0)
    array([[-3., -3.]], dtype=float32)
    """
    if max_columns < 1 or not step_db > 0:
        raise ParameterError(f"max_columns must be >= 1 and step_db > 0, given max_columns={max_columns}, step_db={step_db}")
    db = np.asarray(image_db, dtype=np.float32)
    factor = -(-db.shape[1] // max_columns)
    if factor > 1:
        power = np.pad(10 ** (db / 10), ((0, 0), (0, -db.shape[1] % factor)), constant_values=np.nan)
        db = 10 * np.log10(np.nanmean(power.reshape(db.shape[0], -1, factor), axis=2))
    return (np.round(db / step_db) * step_db).astype(np.float32)


def _watermark_track(ax, watermark: dict, *, end_s: float) -> None:  # noqa: ANN001
    ax.set_yticks([])
    ax.set_ylim(0, 1)
    ax.set_ylabel("mark", rotation=0, ha="right", va="center")
    if watermark.get("detected") is None:
        ax.set_facecolor("#eaeef2")
        ax.text(end_s / 2, 0.5, "watermark not checked", ha="center", va="center", fontsize=9, color="#59636e")
        return
    ax.axhspan(0, 1, color="#eaeef2")
    for start_s, stop_s in watermark.get("segments") or []:
        ax.axvspan(start_s, stop_s, color=COLORS["watermarked"], alpha=0.9)
    label = "marked segments" if watermark.get("segments") else "no marked segment"
    ax.set_title(f"watermark: {label}", loc="left", fontsize=10)


def _detector_track(ax, detector: dict, *, end_s: float, threshold: float) -> None:  # noqa: ANN001
    ax.set_ylim(-0.06, 1.08)  # room for points at exactly 0 or 1
    ax.set_ylabel("p_syn", rotation=0, ha="right", va="center")
    if not _applies(detector):
        ax.set_facecolor("#eaeef2")
        ax.set_yticks([])
        text = "detector not run" if detector.get("p_synthetic") is None else "detector does not apply: no voiced speech"
        ax.text(end_s / 2, 0.5, text, ha="center", va="center", fontsize=9, color="#59636e")
        return
    ax.set_yticks([0, 0.5, 1])
    ax.axhline(threshold, color="#59636e", linestyle="--", linewidth=1)
    windows = np.asarray(detector.get("segments") or [], dtype=float).reshape(-1, 3)
    if windows.shape[0]:
        # Windows may overlap: each owns the span from half-way to its neighbours' centres.
        centres = (windows[:, 0] + windows[:, 1]) / 2
        edges = np.concatenate([[windows[0, 0]], (centres[1:] + centres[:-1]) / 2, [windows[-1, 1]]])
        for (left, right), p in zip(zip(edges[:-1], edges[1:]), windows[:, 2]):
            color = COLORS["likely-synthetic"] if p >= threshold else COLORS["no-evidence"]
            ax.fill_between([left, right], 0, p, color=color, alpha=0.25, linewidth=0)
        ax.stairs(windows[:, 2], edges, color="#57606a", linewidth=1.2, baseline=None)
        high = windows[:, 2] >= threshold
        ax.scatter(centres[high], windows[high, 2], s=14, color=COLORS["likely-synthetic"], zorder=3)
        ax.scatter(centres[~high], windows[~high, 2], s=14, color=COLORS["no-evidence"], zorder=3)
    ax.set_title(f"detector: per-window p_synthetic (file {detector['p_synthetic']:.2f}, "
                 f"threshold {threshold:.2f} dashed)", loc="left", fontsize=10)


def _when(value: object) -> object:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM:SS UTC``; anything else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if t.tzinfo else value


def _short_names(files: Sequence[str]) -> list[str]:
    """File names relative to the folder they share (full paths stay in the sections)."""
    try:
        root = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files]) if files else ""
    except ValueError:  # different drives
        return list(files)
    return [os.path.relpath(os.path.abspath(f), root) if root else f for f in files]


def _kv_table(caption: str, rows: Sequence[tuple[str, object]]) -> str:
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f"<table><caption>{_esc(caption)}</caption>{body}</table>"


def _segments_text(segments: Sequence[Sequence[float]] | None) -> str:
    if not segments:
        return "none"
    return ", ".join(f"{s[0]:.1f}-{s[1]:.1f} s" for s in segments)


def _clock(t: float, *, minutes: bool) -> str:
    """``t`` seconds as ``12.35 s``, or as ``m:ss.s`` (``h:mm:ss.s``) when ``minutes``."""
    if not minutes:
        return f"{t:.2f} s"
    tenths = int(round(t * 10))
    h, rest = divmod(tenths, 36000)
    m, rest = divmod(rest, 600)
    return (f"{h}:{m:02d}" if h else f"{m}") + f":{rest // 10:02d}.{rest % 10}"


def detector_runs(windows: Sequence[Sequence[float]], *, threshold: float) -> list[tuple[float, float, float, int]]:
    """Runs of consecutive detector windows scoring ``p_synthetic >= threshold``.

    Parameters
    ----------
    windows : sequence of (start_s, end_s, p_synthetic)
        The detector's windows in time order (they overlap).
    threshold : float in [0, 1]

    Returns
    -------
    list of (start_s, end_s, max p_synthetic, n_windows)

    Examples
    --------
    >>> detector_runs([(0, 3, 0.1), (2, 5, 0.9), (4, 7, 0.6), (6, 9, 0.2), (8, 11, 0.7)], threshold=0.5)
    [(2.0, 7.0, 0.9, 2), (8.0, 11.0, 0.7, 1)]
    """
    runs: list[tuple[float, float, float, int]] = []
    inside = False
    for start, end, p in windows:
        if p < threshold:
            inside = False
        elif inside:
            a, _, top, n = runs[-1]
            runs[-1] = (a, float(end), max(top, float(p)), n + 1)
        else:
            runs.append((float(start), float(end), float(p), 1))
            inside = True
    return runs


def _span_rows(kind: str, spans: list[tuple[float, float, str]], *, minutes: bool) -> list[str]:
    rows = [f"<tr><td>{_esc(kind)}</td><td class=\"num\">{_clock(a, minutes=minutes)}</td>"
            f"<td class=\"num\">{_clock(b, minutes=minutes)}</td><td class=\"num\">{b - a:.1f} s</td>"
            f"<td>{_esc(detail)}</td></tr>" for a, b, detail in spans[:MAX_SPAN_ROWS]]
    if len(spans) > MAX_SPAN_ROWS:
        rows.append(f'<tr><td>{_esc(kind)}</td><td colspan="4">and {len(spans) - MAX_SPAN_ROWS} more</td></tr>')
    return rows


def spans_table(r: ScanResult, *, threshold: float) -> str:
    """The times of a file's spans as an HTML table: marked segments, pieces of other marks, and runs
    of detector windows at or over ``threshold`` (at most :data:`MAX_SPAN_ROWS` of each kind)."""
    wm, det = r.watermark or {}, r.detector or {}
    minutes = (r.duration_s or 0.0) >= 60
    rows = _span_rows("watermark", [(a, b, f"payload {wm.get('payload') or 'not readable'}")
                                    for a, b in wm.get("segments") or []], minutes=minutes)
    for other in wm.get("other_marks") or []:
        rows += _span_rows("other watermark", [(a, b, f"payload {other.get('payload') or 'not readable'}")
                                               for a, b in other.get("segments") or []], minutes=minutes)
    if _applies(det):
        runs = detector_runs(det.get("segments") or [], threshold=threshold)
        rows += _span_rows(f"detector >= {threshold:.2f}", [(a, b, f"p_synthetic up to {top:.2f} ({n} window{'s' * (n > 1)})")
                                                            for a, b, top, n in runs], minutes=minutes)
    caption = "Spans" + (" (m:ss)" if minutes else "")
    if not rows:
        wm_text = "watermark not checked" if wm.get("detected") is None else "no marked segment"
        det_text = ("detector not run" if det.get("p_synthetic") is None
                    else "detector does not apply (no voiced speech)" if det.get("speech") is False
                    else f"no detector window at or over {threshold:.2f}")
        return f'<p class="muted spans">{_esc(caption)}: {wm_text}; {_esc(det_text)}.</p>'

    return (f'<table class="spans"><caption>{_esc(caption)}</caption><thead><tr><th>what</th><th>from</th><th>to</th>'
            f"<th>length</th><th>detail</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _details(r: ScanResult) -> str:
    wm = r.watermark or {}
    det = r.detector or {}
    tables = [_kv_table("Watermark", [
        ("detected", "not checked" if wm.get("detected") is None else wm.get("detected")),
        ("payload", wm.get("payload") or ("not readable" if wm.get("detected") else None)),
        ("p-value", None if wm.get("p_value") is None else f"{wm['p_value']:.2e}"),
        ("segments", _segments_text(wm.get("segments"))), ("note", wm.get("reason"))])]
    if r.provenance:
        pv = r.provenance
        tables.append(_kv_table("Provenance and consent", [
            ("record", pv.get("record_id")), ("voice", pv.get("voice_id")), ("consent", pv.get("consent_id")),
            ("generated", _when(pv.get("created_at"))), ("consent at generation", pv.get("consent_status_at_generation")),
            ("consent now", pv.get("consent_status_now")), ("covered by valid consent", pv.get("valid"))]))
    else:
        why = "payload not readable" if wm.get("detected") and not wm.get("payload") else "no record"
        tables.append(_kv_table("Provenance and consent", [("record", why)]))
    mf = r.manifest
    tables.append(_kv_table("C2PA manifest", [("present", "no")] if not mf else
                            # "; ": a failure or a conflict has commas of its own
                            [(k, "; ".join(map(str, v)) if isinstance(v, list) else v) for k, v in mf.items()]))
    tables.append(_kv_table("Detector", [
        ("score", None if det.get("score") is None else f"{det['score']:.3f}"),
        ("p_synthetic", None if det.get("p_synthetic") is None
         else "n/a (does not apply: no voiced speech)" if det.get("speech") is False else f"{det['p_synthetic']:.3f}"),
        ("windows", len(det.get("segments") or [])), ("note", det.get("warning"))]))
    return '<div class="grid">' + "".join(tables) + "</div>"


def _figures(results: Sequence[ScanResult], *, threshold: float, workers: int) -> Iterator[bytes | None]:
    """:func:`figure_png` of each result, in order; drawn by ``workers`` processes when more than one."""
    draw = functools.partial(figure_png, threshold=threshold)
    if workers <= 1 or len(results) < 2 * workers:
        yield from map(draw, results)
        return
    import multiprocessing

    # fork: the workers start with matplotlib and the results' arrays already in memory
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(draw, results, chunksize=4)


def render_html(results: Sequence[ScanResult], *, threshold: float, notes: Sequence[str] = (),
                title: str = "voiceguard scan report", show_progress: bool = False, workers: int = 1) -> str:
    """The whole report as one HTML string (figures inline).

    Parameters
    ----------
    results : sequence of ScanResult
        In the order they should appear.
    threshold : float in [0, 1]
        The detector threshold the verdicts used.
    notes : sequence of str
        Parts that did not run and why, shown at the top.
    show_progress : bool
        A progress bar on stderr while the figures are drawn (about 0.2 s each).
    workers : int >= 1
        Processes that draw the figures (``scan --workers``); the report of 45 files took
        6.9 s on one and 3.7 s on two (medians of 3, 2 shared cores).
    """
    if not 0.0 <= threshold <= 1.0:
        raise ParameterError(f"threshold must be within [0, 1], given threshold={threshold}")
    counts = Counter(r.verdict for r in results)
    rows, sections = [], []
    items = enumerate(results)
    if show_progress:
        items = progress.bar(items, total=len(results), desc="report")
    short = _short_names([r.file for r in results])
    figures = _figures(results, threshold=threshold, workers=workers)
    starred = False
    for i, r in items:
        payload = (r.watermark or {}).get("payload")
        p_text = p_synthetic_cell(r.verdict, r.watermark, r.detector, threshold=threshold)
        starred = starred or p_text.endswith("*")
        rows.append(f'<tr><td><a href="#f{i}" title="{_esc(r.file)}">{_esc(short[i])}</a></td><td>{_badge(r.verdict)}</td>'
                    f"<td>{_esc(r.reason)}</td><td>{_esc(payload)}</td>"
                    f'<td class="num">{_esc(p_text)}</td></tr>')
        png = next(figures)
        img = "" if png is None else f'<img alt="timelines of {_esc(r.file)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        duration = "" if r.duration_s is None else f" &middot; {r.duration_s:.2f} s"
        body = "" if r.verdict == "error" else img + spans_table(r, threshold=threshold) + _details(r)
        sections.append(f'<section class="file" id="f{i}"><h2>{_esc(r.file)}</h2>'
                        f'<div>{_badge(r.verdict)}<span class="muted">{duration}</span></div>'
                        f'<p class="reason">{_esc(r.reason)}</p>{body}</section>')
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    note_list = "".join(f"<li>{_esc(n)}</li>" for n in notes)
    count_text = "".join(f'<span>{_badge(v)} {counts.get(v, 0)}</span>' for v in COLORS)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{_esc(title)}</h1>"
            f'<p class="muted">{len(results)} file(s), generated {stamp}; detector threshold {threshold:.2f}. '
            "Verdict order: our watermark, then the detector; a part that did not run is never evidence. A "
            "watermarked file's reason also names a synthetic part outside its marked segments.</p>"
            f'<p class="counts">{count_text}</p>' + (f'<ul class="notes">{note_list}</ul>' if notes else "")
            + '<table class="summary"><colgroup><col style="width:22%"><col style="width:130px"><col>'
            '<col style="width:90px"><col style="width:100px"></colgroup>'
            "<thead><tr><th>file</th><th>verdict</th><th>reason</th><th>payload</th>"
            f"<th>p_synthetic</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            + (f'<p class="muted">{STAR_NOTE}</p>' if starred else "")
            + "".join(sections) + "</body></html>")


def write_report(results: Sequence[ScanResult], path: str | os.PathLike[str], *, threshold: float,
                 notes: Sequence[str] = (), title: str = "voiceguard scan report",
                 show_progress: bool = False, workers: int = 1) -> Path:
    """Write :func:`render_html` to ``path`` (parent folders created) and return the path.

    The report is written to a hidden file beside ``path`` and renamed over it when whole, so
    that a failure (a full disk, a killed process) leaves the report that was there before as
    it was. A link at ``path`` is written through, as before.

    Raises
    ------
    GuardError
        The report could not be written (the OS's reason, and that an earlier one is kept).
    """
    out = Path(path)
    text = render_html(results, threshold=threshold, notes=notes, title=title, show_progress=show_progress,
                       workers=workers)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # backslashreplace: should an undecodable name ever get past _esc, a visible \udcXX rather than a lost report
        _write_atomically(out.resolve() if out.is_symlink() else out, text.encode("utf-8", "backslashreplace"))
    except OSError as exc:
        raise GuardError(f"{printable(str(out), controls=True)}: report not written ({exc.strerror or exc}); "
                         "a report already there is left as it was") from None
    return out


def _write_atomically(target: Path, data: bytes) -> None:
    """Put ``data`` at ``target`` by a rename from a file beside it: readers see the old file or the new, whole."""
    fd, staged = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if not target.exists():  # a new report gets the mode a plain write would give it, not mkstemp's 0600
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(staged, 0o666 & ~umask)
        replace_keeping_mode(Path(staged), target)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
