"""`voiceguard scan PATH...`: verdicts for files and folders, as a table, JSON lines and a report."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import click

from guard.audio import DEFAULT_MAX_DURATION_S
from guard.cliutil import (
    FiniteFloat,
    cannot_write_in,
    emit_json,
    home_option,
    input_path,
    json_option,
    progress,
    quiet_option,
    say,
)
from guard.errors import GuardError, HomeError
from guard.plaintext import printable
from guard.scan import DEFAULT_THRESHOLD, ScanConfig, Scanner, scan_files
from guard.scan_collect import collect
from guard.scan_result import ScanResult
from guard.scan_verdict import p_synthetic_cell


def _shown(path: Path) -> str:
    """A path as a message shows it: bytes that are not UTF-8 as ``\\xNN``, control characters escaped."""
    return printable(str(path), controls=True)


def _home_source() -> str:
    """How this command's home was chosen: ``"--home"``, ``"$VOICEGUARD_HOME"`` or ``"default"``."""
    ctx = click.get_current_context()
    if ctx.params.get("home_dir") or (ctx.find_root().obj or {}).get("home"):
        return "--home"
    return "$VOICEGUARD_HOME" if os.environ.get("VOICEGUARD_HOME") else "default"


def _home_for_scan(home_dir: Path, *, quiet: bool) -> str | None:
    """The home to use, or None to scan without one when the default home does not exist.

    A home the user chose (``--home``, ``$VOICEGUARD_HOME``) must open; the default one may be
    absent, and then the scan runs without keys or ledger and says so.
    """
    if _home_source() != "default" or home_dir.exists():
        return str(home_dir)
    say(f"no voiceguard home at {_shown(home_dir)}: scanning without keys or ledger "
        "(pass --home DIR or run `voiceguard init`)", quiet=quiet)
    return None


def _without_home_advice(home_dir: Path) -> str:
    """How to scan without the home that failed to open, for the way it was chosen (:func:`_home_source`).

    A scan goes without a home only when none is chosen and the default one does not exist.
    """
    source = _home_source()
    if source == "default":
        return f"or move {home_dir} aside to scan without keys or ledger"
    steps = ["leave out --home"] if source == "--home" else []
    if os.environ.get("VOICEGUARD_HOME"):
        steps.append("unset $VOICEGUARD_HOME")
    default = Path.home() / ".voiceguard"
    if default.exists():  # it would be used next
        steps.append(f"move {default} aside")
    return "or scan without a home: " + (", ".join(steps[:-1]) + " and " if len(steps) > 1 else "") + steps[-1]


def _table(results: list[ScanResult], *, threshold: float) -> list[str]:
    names = [printable(r.file, controls=True) for r in results]
    width = min(48, max([len(n) for n in names] + [4]))
    lines = [f"{'FILE':<{width}}  {'VERDICT':<16}  {'PAYLOAD':<8}  {'P_SYN':>5}  REASON"]
    starred = False
    for r, name in zip(results, names):
        name = name if len(name) <= width else "..." + name[-(width - 3):]
        payload = (r.watermark or {}).get("payload") or "-"
        p_text = p_synthetic_cell(r.verdict, r.watermark, r.detector, threshold=threshold)
        starred = starred or p_text.endswith("*")
        lines.append(f"{name:<{width}}  {r.verdict:<16}  {payload:<8}  {p_text:>5}  {printable(r.reason, controls=True)}")
    if starred:
        lines.append("(* the peak of a synthetic part inside the file; the file as a whole scores lower)")
    return lines


def _check_report_path(report_path: Path) -> None:
    """Refuse a ``--report`` path before the scan (which may take hours): its folder must exist and take a
    new file (the report is written beside it, then renamed into place), and it must end in .html."""
    if report_path.suffix.lower() not in (".html", ".htm"):
        # `scan --report call1.wav call2.wav` would have replaced the evidence with HTML
        raise click.BadParameter(f"{_shown(report_path)} does not end in .html; the report is an HTML file (a typo here "
                                 f"would overwrite the file named)", param_hint="--report")
    folder = report_path.resolve().parent if report_path.is_symlink() else report_path.parent
    if not folder.is_dir():
        raise GuardError(f"--report {_shown(report_path)}: folder {_shown(folder)} does not exist; create it first")
    problem = cannot_write_in(folder)
    if problem:
        raise GuardError(f"--report {_shown(report_path)}: folder {_shown(folder)} is not writable ({problem}); "
                         "choose a folder you can write to")


def _leave_now(code: int) -> None:
    """Exit at once with ``code``, output flushed: waiting on the pool's threads at exit would take a second Ctrl-C."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@click.command("scan")
@click.argument("paths", nargs=-1, required=True, type=input_path())
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a self-contained HTML report here.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes; each loads the detector once and uses one core.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Detector weights (default: the model shipped with voiceguard).")
@click.option("--threshold", type=FiniteFloat(0.0, 1.0), default=DEFAULT_THRESHOLD, show_default=True,
              help="p_synthetic at or above which an unmarked file is 'likely-synthetic'.")
@click.option("--max-duration", "max_duration_s", metavar="SECONDS", type=FiniteFloat(0.0, min_open=True),
              default=DEFAULT_MAX_DURATION_S, show_default=True,
              help="Longest file scanned; a longer one gets an error row. Long files are checked in blocks, "
                   "but each is decoded whole: about 230 MB of memory per hour of audio.")
@click.option("--speed-search", is_flag=True,
              help="Also look for the watermark at playback speeds x0.94-x1.06; about 25x slower on unmarked files.")
@home_option
@json_option
@quiet_option
def scan_command(paths: tuple[Path, ...], report_path: Path | None, workers: int, model_path: Path | None,
                 threshold: float, max_duration_s: float, speed_search: bool, home_dir: Path, as_json: bool,
                 quiet: bool) -> None:
    """Check audio files and folders (PATHS, recursive) for our watermark, provenance and deepfake cues.

    Each file gets one verdict: watermarked, likely-synthetic, no-evidence or error, with a
    one-line reason. Exit 0 when the scan ran, whatever the verdicts; 1 when a path named
    does not exist (after scanning the others).
    """
    if model_path is not None and not model_path.is_file():
        raise GuardError(f"--model {model_path}: file not found")
    missing = [p for p in paths if not p.exists()]
    if report_path is not None:
        _check_report_path(report_path)
    files, skipped = collect(paths, warn=lambda message: say(f"warning: {message}"))
    if skipped:
        broken = sum(1 for q in skipped if not q.exists())
        shown = ", ".join(_shown(q) for q in skipped[:3]) + (
            f" and {len(skipped) - 3} more" if len(skipped) > 3 else "")
        say(f"skipped {len(skipped)} file(s) that are not audio by extension"
            + (f" or are links to nothing ({broken})" if broken else "") + f": {shown}", quiet=quiet)
    if not files:
        raise GuardError(f"nothing to scan: no audio files in {', '.join(map(_shown, paths))}")
    config = ScanConfig(home_dir=_home_for_scan(home_dir, quiet=quiet),
                        model_path=str(model_path) if model_path else None, max_duration_s=max_duration_s,
                        threshold=threshold, keep_overview=report_path is not None, speed_search=speed_search,
                        # a bar per long file, in this process only: pool workers' bars would overwrite each other
                        show_progress=not (as_json or quiet) and (workers == 1 or len(files) == 1))
    try:
        scanner = Scanner(config)
    except HomeError as exc:
        raise HomeError(f"{exc} ({_without_home_advice(home_dir)})") from None
    for note in scanner.notes:
        say(note, quiet=quiet)
    results: list[ScanResult] = []
    interrupted = False
    scanning = scan_files(files, scanner=scanner, workers=workers)
    try:
        # one file: its own bar over its blocks (a long file) says more than "0/1", and is not drawn under it
        for result in progress(scanning, silent=as_json or quiet or len(files) == 1, desc="scan", total=len(files)):
            if as_json:
                emit_json(result.to_dict())
            results.append(result)
    except KeyboardInterrupt:  # Ctrl-C: keep what was scanned (table, report), then exit 130
        interrupted = True
        scanning.close()  # stops the workers
        say(f"interrupted: {len(results)} of {len(files)} file(s) scanned", quiet=False)
    if not (as_json or quiet):
        for line in _table(results, threshold=threshold):
            click.echo(line, err=True)
    counts = Counter(r.verdict for r in results)
    say(f"scanned {len(results)} file(s): " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        + (f"; skipped {len(skipped)} non-audio" if skipped else ""), quiet=quiet)
    if report_path is not None:
        from guard.report import write_report

        write_report(results, report_path, threshold=threshold, notes=scanner.notes,
                     show_progress=not (as_json or quiet), workers=workers)
        say(f"report written to {_shown(report_path)}", quiet=quiet)
    if interrupted:
        _leave_now(130)
    if missing:  # each has its "error" row; a path that does not exist is still the user's mistake
        raise GuardError(f"{_shown(missing[0])}: no such file or folder"
                         + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
