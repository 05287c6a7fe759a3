"""`voiceguard bench watermark`: payload, presence, false alarms, quality and speed of the mark.

What is measured under each attack of :mod:`eval.attacks` is said in :mod:`eval.watermark_measure`;
this module is the command, its table and its plot.

Clips: espeak-ng speech made on the fly (default), a folder of real speech (``--clips``), or
voiceguard's own clones of synthetic personas (``--cloned``, :mod:`eval.cloned_clips`); see
:mod:`eval.watermark_clips`. ``--speed-search`` verifies everything, false-alarm windows
included, with the playback-speed search of :func:`guard.watermark.verify` (about 25x slower
on unmarked audio).
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from eval.watermark_clips import espeak_clips, folder_clips
from eval.watermark_measure import EVERY_STEP_S, SPEECH_SHARE, evaluate
from guard.cliutil import (
    FiniteFloat,
    GivenPath,
    OutputFolder,
    emit_json,
    json_option,
    progress,
    quiet_option,
    say,
    seed_option,
    to_json,
)
from guard.errors import DatasetError


def _table(results: dict, title: str) -> None:
    say(f"{title}: {results['n_clips']} clips of {results['clip_s']} s")
    q = results["quality"]
    say("quality: " + ", ".join(f"{k} mean {v['mean']} (min {v['min']})" for k, v in q.items()))
    s = results["speed_x_realtime"]
    say(f"speed (one thread, median of CPU time): embed {s.get('embed')} x, verify {s.get('verify')} x real time")
    say(f"{'attack':20s} {'set':8s} {'payload':>8s} {'bits':>6s} {'detect':>7s} {'pres 3s':>8s} {'speech':>12s} "
        f"{'every 3s':>13s} {'speech':>13s} {'pay 5s':>7s}")

    def rate(r: dict, key: str, count: str) -> str:
        return "-" if r[key] is None else f"{r[key]:.3f} ({r[count]})"

    for name, r in results["attacks"].items():
        say(f"{name:20s} {r['set']:8s} {r['payload_rate']:8.3f} {r['bit_accuracy']:6.3f} {r['detect_tpr']:7.3f} "
            f"{r['presence_tpr_3s']:8.3f} {rate(r, 'presence_tpr_3s_speech', 'windows_3s_speech'):>12s} "
            f"{rate(r, 'presence_tpr_3s_every', 'windows_3s_every'):>13s} "
            f"{rate(r, 'presence_tpr_3s_every_speech', 'windows_3s_every_speech'):>13s} "
            f"{'n/a' if r['payload_rate_5s'] is None else format(r['payload_rate_5s'], '.3f'):>7s}")
    say(f"(pres 3s: one random 3 s window per clip; every 3s: every 3 s window at {EVERY_STEP_S} s steps; speech: "
        f"those of which >= {SPEECH_SHARE:.0%} is speech to WebRTC's VAD; how many in brackets; pay 5s: exact payload "
        f"in a random 5 s window, n/a where the marked audio is shorter than 5 s)")
    for name, r in results.get("localization", {}).items():
        say(f"localization, {name} marked piece inside unmarked speech: found {r['found_rate']:.3f}, "
            f"IoU median {r['iou_median']:.2f}, IoU >= 0.8 in {r['iou_ge_0.8_rate']:.3f}")
    f = results["false_alarms"]
    say(f"false alarms: presence {f['presence']} / payload {f['payload']} in {f['windows']} unmarked 3 s windows; "
        f"wrong key {f['wrong_key_detections']} / {f['wrong_key_clips']} marked clips")


def _plot(results: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["attacks"])
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(names) + 1.5))
    ax.barh(y - 0.2, [results["attacks"][n]["payload_rate"] for n in names], 0.4, label="exact payload, whole clip")
    ax.barh(y + 0.2, [results["attacks"][n]["presence_tpr_3s"] for n in names], 0.4, label="presence, 3 s window")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.axvline(0.99, color="k", lw=0.5, ls="--")
    ax.set_xlabel("fraction of clips (dashed: the 0.99 target)")
    ax.set_title(title)
    height_in = fig.get_figheight()
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8)
    fig.tight_layout(rect=(0, 0.35 / height_in, 1, 1))  # room for the legend under the axis label
    fig.savefig(path, dpi=120)
    plt.close(fig)


@click.command("watermark")
@click.option("--clips", "clips_dir", type=GivenPath(file_okay=False, path_type=Path), default=None,
              help="Folder of real speech (looped/cut to --duration); default: espeak-ng speech made on the fly.")
@click.option("--cloned", is_flag=True, help="Clips from voiceguard's cloner (synthetic personas enrolled in a throw-away home) "
              "instead of espeak-ng speech.")
@click.option("--n-clips", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--duration", "duration_s", type=FiniteFloat(3.5, 600.0), default=10.0, show_default=True, help="Clip length in seconds.")
@click.option("--attacks", "attack_set", default="all", show_default=True,
              help="moderate: codecs at 24-32 kb/s, resampling, telephone, 30 dB noise, filters, gain, echo, splice; "
                   "hard: 10-20 dB noise, 16 kb/s codecs, highpass 1.5 kHz, speed, stretch, pitch, reverb; "
                   "all adds crops, bandpass, pink 20 dB and requantization; or attack names separated by commas "
                   "(an unknown name lists them all).")
@click.option("--fpr-windows", type=click.IntRange(0, 1_000_000), default=2000, show_default=True, help="Unmarked 3 s windows to check.")
@click.option("--out", "out_dir", type=OutputFolder(), default=None, help="Write watermark.json and watermark.png here.")
@click.option("--speed-search", is_flag=True, help="Verify with the playback-speed search (x0.94-x1.06), false-alarm checks included.")
@seed_option
@json_option
@quiet_option
def command(clips_dir: Path | None, cloned: bool, n_clips: int, duration_s: float, attack_set: str, fpr_windows: int,
            out_dir: Path | None, speed_search: bool, seed: int, as_json: bool, quiet: bool) -> None:
    """Payload rate, presence TPR, false alarms, quality and speed of the watermark under every attack."""
    from eval.attacks import ATTACKS, HARD_ATTACKS, MODERATE_ATTACKS

    sets = {"moderate": list(MODERATE_ATTACKS), "hard": list(HARD_ATTACKS), "all": list(ATTACKS)}
    # each name once, in the order given: a repeated name would count its windows twice
    attacks = list(dict.fromkeys(sets.get(attack_set) or [a.strip() for a in attack_set.split(",") if a.strip()]))
    unknown = [a for a in attacks if a not in ATTACKS]
    if unknown or not attacks:
        raise click.BadParameter(f"unknown attack {', '.join(unknown) or repr(attack_set)}; use moderate, hard, all "
                                 f"or names from: {', '.join(ATTACKS)}", param_hint="--attacks")
    if clips_dir is not None and cloned:
        raise click.UsageError("--clips and --cloned choose the clips two ways; pass one")
    skipped: list[dict[str, str]] = []

    def skip(path: Path, reason: str) -> None:
        skipped.append({"file": str(path), "reason": reason})
        say(f"skipped {path}: {reason}", quiet=quiet)

    if cloned:
        from eval.cloned_clips import cloned_clips

        made = cloned_clips(n_clips, duration_s=duration_s, seed=seed, progress=not (as_json or quiet))
        title = "voiceguard clones of synthetic personas"
    elif clips_dir is not None:
        if not clips_dir.is_dir():
            raise DatasetError(f"{clips_dir}: no such folder; pass a folder of speech files to --clips")
        made = folder_clips(clips_dir, n_clips, duration_s=duration_s, seed=seed, on_skip=skip)
        title = f"real speech ({clips_dir.name})"
    else:
        made = espeak_clips(n_clips, duration_s=duration_s, seed=seed)
        title = "espeak-ng speech (synthetic)"
    if speed_search:
        title += ", speed search"
    clips = list(progress(made, silent=as_json or quiet, desc="clips", total=n_clips))
    if len(clips) < n_clips:
        say(f"only {len(clips)} of the {n_clips} clips asked for could be made ({len(skipped)} files skipped)",
            quiet=quiet)
    results = evaluate(clips, attacks=attacks, fpr_windows=fpr_windows, seed=seed, silent=as_json or quiet,
                       speed_search=speed_search)
    results["corpus"] = title
    if clips_dir is not None:
        results["skipped"] = skipped
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "watermark.json").write_text(to_json(results, indent=2))
        _plot(results, out_dir / "watermark.png", title)
    if as_json:
        emit_json(results)
    elif not quiet:
        _table(results, title)
