"""`voiceguard bench watermark`: payload, presence, false alarms, quality and speed of the mark.

For every attack of :mod:`eval.attacks`: exact-payload rate and bit accuracy on whole clips
(10 s by default), presence TPR in a random 3 s window and payload rate in a random 5 s
window of the marked audio (inside the unmarked padding of a splice), and presence TPR over
every 3 s window at :data:`EVERY_STEP_S` steps (8 per 10 s clip: a tighter estimate than
one window per clip, drawing nothing from the seeded generator); on unmarked audio
(3 s windows of the clean clips, noise, tones, chirps and music-like notes) and with a
wrong key: false detections. Presence is also reported over the 3 s windows that are
mostly speech (:data:`SPEECH_SHARE` of their 30 ms frames are speech to WebRTC's voice
activity detector, :mod:`eval.speech_activity`, judged on the marked clip before the
attack, or on the attacked one for attacks that change the length): nothing is marked in
silence, so a window that is half pause carries about half a window of mark. Quality of
the marked clips (SNR, PESQ-wb, STOI) and embed/verify speed in x real time on one thread
(medians of CPU time).
Localization: a 2 s and a 3 s piece of each marked clip pasted into the next (unmarked)
clip; the IoU of the segments found with the true span.

Clips: espeak-ng speech made on the fly (default), a folder of real speech (``--clips``), or
voiceguard's own clones of synthetic personas (``--cloned``, :mod:`eval.cloned_clips`).
``--speed-search`` verifies everything, false-alarm windows included, with the playback-speed
search of :func:`guard.watermark.verify` (about 25x slower on unmarked audio).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import numpy as np

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
from guard.errors import DatasetError, WatermarkError

RATE = 16000
SPEECH_SHARE = 0.8
EVERY_STEP_S = 1  # presence is also read in every 3 s window at this step (seconds)
SENTENCES = {
    "en-us": ["Every clip we make carries a mark and a signed record.",
              "The committee will meet again on Thursday to review the budget.",
              "Please leave your message after the tone and we will call you back.",
              "A cold front is moving in from the west, bringing rain tonight."],
    "en": ["Seven small boats sailed past the harbour wall at dawn.",
           "She counted the coins twice before paying for the bread.",
           "The museum opens at ten and closes early on Sundays."],
    "de": ["Der Zug nach Berlin fährt heute zwanzig Minuten später ab.",
           "Wir treffen uns morgen früh vor dem alten Rathaus."],
    "fr": ["Le marché du samedi attire beaucoup de monde en été.",
           "Nous avons perdu nos clés près de la gare centrale."],
    "es": ["La biblioteca estará cerrada durante las vacaciones de invierno.",
           "Mi hermano prepara una sopa de verduras cada domingo."],
}


def espeak_clips(n_clips: int, *, duration_s: float, seed: int) -> Iterator[tuple[str, np.ndarray]]:
    """``n_clips`` clips of espeak-ng speech, each ``duration_s`` long, in varied voices and languages."""
    from cloner.tts import synthesize

    rng = np.random.default_rng(seed)
    voices = sorted(SENTENCES)
    n = int(round(duration_s * RATE))
    for i in range(n_clips):
        voice = voices[i % len(voices)]
        rate_wpm, pitch = int(rng.integers(140, 200)), int(rng.integers(25, 75))
        parts, total = [], 0
        while total < n:
            text = SENTENCES[voice][int(rng.integers(len(SENTENCES[voice])))]
            part = synthesize(text, voice=voice, rate_wpm=rate_wpm, pitch=pitch, sample_rate=RATE)
            parts.append(part)
            total += part.shape[0]
        yield f"espeak-{i:03d}-{voice}", np.concatenate(parts)[:n]


MIN_SOURCE_S = 1.0  # a --clips file shorter than this is skipped, not looped into a "speech" clip


def folder_clips(folder: Path, n_clips: int, *, duration_s: float, seed: int,
                 on_skip: Callable[[Path, str], None] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Up to ``n_clips`` files of ``folder`` (seeded order), each looped or cut to ``duration_s``.

    A file that cannot be used (unreadable, empty, NaN, not audio, shorter than
    :data:`MIN_SOURCE_S`, or silent, so that there is nothing to mark) is skipped, reported
    through ``on_skip(path, reason)``, and the next file in the seeded order is drawn in its
    place, so that ``n_clips`` clips are made while the folder has enough usable files.

    Parameters
    ----------
    folder : Path
        Searched recursively for files with an audio extension.
    n_clips : int >= 1
    duration_s : float > 0
    seed : int >= 0
        Chooses the order in which files are drawn.
    on_skip : callable, optional
        Called with the path and the reason of every file skipped.

    Yields
    ------
    name : str
        The file's path relative to ``folder``.
    y : np.ndarray [shape=(round(duration_s * 16000),), dtype=float32]

    Raises
    ------
    DatasetError
        When the folder holds no audio file, or no usable one.
    """
    from guard.audio import load
    from guard.detect.data import audio_files
    from guard.errors import GuardError

    files = audio_files(Path(folder))  # broken links included, so that they are skipped by name
    if not files:
        raise DatasetError(f"{folder}: no audio files found (wav, flac, mp3, ogg, opus, m4a, webm)")
    order = np.random.default_rng(seed).permutation(len(files))
    n = int(round(duration_s * RATE))
    made = skipped = 0
    for idx in order:
        if made == n_clips:
            return
        path = files[idx]
        try:
            y = load(path, sample_rate=RATE)
        except GuardError as exc:
            reason = str(exc).replace(f"{path}: ", "")
        else:
            clip = np.tile(y, int(np.ceil(n / y.shape[0])))[:n] if y.shape[0] else y
            if y.shape[0] < MIN_SOURCE_S * RATE:
                reason = f"{y.shape[0] / RATE:.3f} s long; a clip needs at least {MIN_SOURCE_S:g} s of speech to loop"
            elif _nothing_to_mark(clip):  # the clip as cut: speech after --duration does not count
                reason = (f"silent in its first {duration_s:g} s: nothing to mark (no speech-band energy above "
                          f"-75 dBFS)")
            else:
                made += 1
                yield str(path.relative_to(folder)), clip
                continue
        skipped += 1
        if on_skip is not None:
            on_skip(path, reason)
    if made == 0:
        what = "its one audio file" if len(files) == 1 else f"its {len(files)} audio files"
        raise DatasetError(f"{folder}: none of {what} could be used; "
                           "pass a folder of speech recordings to --clips")


def _nothing_to_mark(y: np.ndarray) -> bool:
    """Whether the watermark finds nothing to mark in ``y`` (16 kHz): the test :func:`guard.watermark.embed` makes."""
    from guard.watermark import features

    return not features.markable(features.cell_log_power(features.analyse(y), 0)).any()


def other_signals(n: int, *, seed: int) -> Iterator[np.ndarray]:
    """Unmarked 3 s non-speech windows: white/pink noise, tones, chirps, music-like notes."""
    rng = np.random.default_rng(seed)
    m = 3 * RATE
    t = np.arange(m) / RATE
    for i in range(n):
        kind = i % 4
        if kind == 0:
            y = rng.standard_normal(m) * (0.3 if i % 8 == 0 else 0.03)
            if i % 8 == 4:
                y = np.cumsum(y) * 0.01
        elif kind == 1:
            y = sum(0.2 / (k + 1) * np.sin(2 * np.pi * rng.uniform(100, 3000) * t) for k in range(3))
        elif kind == 2:
            f0, f1 = rng.uniform(100, 4000, 2)
            y = 0.3 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / 6))
        else:  # notes of harmonic tones with decaying envelopes
            y = np.zeros(m)
            for start in range(0, m, m // 8):
                f = 110 * 2 ** (int(rng.integers(0, 36)) / 12)
                seg = np.arange(m - start) / RATE
                env = np.exp(-3 * seg)
                y[start:] += env * sum(0.1 / h * np.sin(2 * np.pi * h * f * seg) for h in range(1, 6))
        y = y - np.mean(y)
        yield (y / max(1.0, np.max(np.abs(y)) / 0.9)).astype(np.float32)


def _crop(y: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
    start = _window_start(y.shape[0], seconds, rng)
    return y[start:start + int(seconds * RATE)]


def _window_start(n_samples: int, seconds: float, rng: np.random.Generator) -> int:
    """Random start of a ``seconds`` window in ``n_samples`` (0 when the clip is no longer)."""
    n = int(seconds * RATE)
    return int(rng.integers(0, n_samples - n + 1)) if n_samples > n else 0


def _marked_part(attack: str, z: np.ndarray) -> np.ndarray:
    """The part of attacked clip ``z`` that holds marked audio (a splice pads it with unmarked speech).

    The 3 s and 5 s windows are cut from this part, so that their rates are rates on marked
    audio; the whole-clip payload is still read from all of ``z``.
    """
    from eval.attacks import ATTACKS

    pad_s = ATTACKS[attack].params.get("pad_s")
    if pad_s is None:
        return z
    pad = int(round(float(pad_s) * RATE))
    return z[pad:z.shape[0] - pad]


def evaluate(clips: list[tuple[str, np.ndarray]], *, attacks: list[str], fpr_windows: int, seed: int,
             silent: bool, speed_search: bool = False) -> dict:
    """Run the whole benchmark on ``clips`` (16 kHz); see the module docstring for what is measured.

    ``speed_search`` makes every verification, false-alarm checks included, search playback
    speeds (``guard.watermark.verify(speed_search=True)``).
    """
    from functools import partial

    from threadpoolctl import threadpool_limits

    from eval.attacks import HARD_ATTACKS, MODERATE_ATTACKS, apply_attack
    from eval.quality import bit_accuracy, pesq_wb, snr_db, stoi
    from eval.speech_activity import speech_frames, speech_share
    from guard.watermark import embed
    from guard.watermark import verify as plain_verify

    verify = partial(plain_verify, speed_search=speed_search)

    rng = np.random.default_rng(seed)
    key, wrong_key = rng.bytes(32), rng.bytes(32)
    per_attack = {a: {"payload": [], "bits": [], "detect": [], "presence_3s": [], "speech_3s": [], "payload_5s": [],
                      "every_3s": [], "every_speech_3s": []} for a in attacks}
    quality = {"snr_db": [], "pesq_wb": [], "stoi": []}
    speed = {"embed": [], "verify": []}
    false = {"windows": 0, "presence": 0, "payload": 0, "wrong_key_clips": 0, "wrong_key_detections": 0}
    localization: dict[float, list[float]] = {2.0: [], 3.0: []}
    speech_windows = int(np.ceil(0.8 * fpr_windows / max(1, len(clips))))
    with threadpool_limits(limits=1):
        for i, (name, y) in enumerate(progress(clips, silent=silent, desc="watermark bench")):
            payload = int(rng.integers(0, 1 << 32))
            # CPU time of this process (one thread): fair on a shared machine, unlike wall time
            t0 = time.process_time()
            try:
                marked = embed(y, sample_rate=RATE, payload=payload, key=key)
            except WatermarkError as exc:
                raise WatermarkError(f"clip {name}: {exc}") from None
            t1 = time.process_time()
            verify(marked, sample_rate=RATE, keys=[key])
            t2 = time.process_time()
            duration_s = y.shape[0] / RATE
            speed["embed"].append(duration_s / max(t1 - t0, 1e-6))
            speed["verify"].append(duration_s / (t2 - t1))
            marked_speech = speech_frames(marked)
            quality["snr_db"].append(snr_db(y, marked, sample_rate=RATE))
            quality["pesq_wb"].append(pesq_wb(y, marked, sample_rate=RATE))
            quality["stoi"].append(stoi(y, marked, sample_rate=RATE))
            for attack in attacks:
                z = apply_attack(attack, marked, sample_rate=RATE, seed=seed + i)
                v = verify(z, sample_rate=RATE, keys=[key])
                r = per_attack[attack]
                r["payload"].append(v.payload == payload)
                r["bits"].append(bit_accuracy(payload, v.raw_payload))
                r["detect"].append(v.detected)
                inside = _marked_part(attack, z)
                start = _window_start(inside.shape[0], 3.0, rng)
                window = inside[start:start + 3 * RATE]
                r["presence_3s"].append(verify(window, sample_rate=RATE, keys=[key]).detected)
                # speech is judged before the attack where the attacked audio is aligned with
                # the marked clip (crops, speed and tempo changes are not: judged after)
                frames = marked_speech if inside.shape[0] == marked.shape[0] else speech_frames(inside)
                r["speech_3s"].append(speech_share(frames, start, 3 * RATE) >= SPEECH_SHARE)
                for at in range(0, inside.shape[0] - 3 * RATE + 1, EVERY_STEP_S * RATE):
                    r["every_3s"].append(verify(inside[at:at + 3 * RATE], sample_rate=RATE, keys=[key]).detected)
                    r["every_speech_3s"].append(speech_share(frames, at, 3 * RATE) >= SPEECH_SHARE)
                if inside.shape[0] >= 5 * RATE:  # a shorter marked part has no 5 s window: n/a, not "5 s"
                    r["payload_5s"].append(verify(_crop(inside, 5.0, rng), sample_rate=RATE, keys=[key]).payload == payload)
            for _ in range(speech_windows):
                v = verify(_crop(y, 3.0, rng), sample_rate=RATE, keys=[key])
                false["windows"] += 1
                false["presence"] += v.detected
                false["payload"] += v.payload is not None
            host = clips[(i + 1) % len(clips)][1]
            for piece_s in (2.0, 3.0):
                iou = _piece_iou(marked, host, piece_s, rng, key, speed_search=speed_search)
                if iou is not None:
                    localization[piece_s].append(iou)
            v = verify(marked, sample_rate=RATE, keys=[wrong_key])
            false["wrong_key_clips"] += 1
            false["wrong_key_detections"] += v.detected or v.payload is not None
        for w in other_signals(max(0, fpr_windows - false["windows"]), seed=seed + 1):
            v = verify(w, sample_rate=RATE, keys=[key])
            false["windows"] += 1
            false["presence"] += v.detected
            false["payload"] += v.payload is not None

    def stat(xs: list[float]) -> dict:
        return {"mean": round(float(np.mean(xs)), 4), "min": round(float(np.min(xs)), 4),
                "p05": round(float(np.percentile(xs, 5)), 4)} if xs else {}

    def group(name: str) -> str:
        return "moderate" if name in MODERATE_ATTACKS else "hard" if name in HARD_ATTACKS else "other"

    return {
        "n_clips": len(clips),
        "clip_s": round(float(np.mean([y.shape[0] for _, y in clips])) / RATE, 2) if clips else 0.0,
        "seed": seed,
        "speed_search": speed_search,
        "quality": {k: stat(v) for k, v in quality.items()},
        "speed_x_realtime": {k: round(statistics.median(v), 1) for k, v in speed.items() if v},
        "attacks": {a: {"set": group(a),
                        "payload_rate": round(float(np.mean(r["payload"])), 4),
                        "bit_accuracy": round(float(np.mean(r["bits"])), 4),
                        "detect_tpr": round(float(np.mean(r["detect"])), 4),
                        "presence_tpr_3s": round(float(np.mean(r["presence_3s"])), 4),
                        **_window_rate("speech", _mostly_speech(r["presence_3s"], r["speech_3s"])),
                        **_window_rate("every", r["every_3s"]),
                        **_window_rate("every_speech", _mostly_speech(r["every_3s"], r["every_speech_3s"])),
                        "payload_rate_5s": round(float(np.mean(r["payload_5s"])), 4) if r["payload_5s"] else None,
                        "windows_5s": len(r["payload_5s"])} for a, r in per_attack.items() if r["payload"]},
        "false_alarms": false,
        "localization": {f"{int(k)}s": {"found_rate": round(float(np.mean(np.array(v) > 0)), 4),
                                         "iou_median": round(float(np.median(v)), 4),
                                         "iou_ge_0.8_rate": round(float(np.mean(np.array(v) >= 0.8)), 4)}
                         for k, v in localization.items() if v},
    }


def _mostly_speech(detected: list[bool], speech: list[bool]) -> list[bool]:
    """The outcomes of the windows that are mostly speech."""
    return [d for d, s in zip(detected, speech) if s]


def _window_rate(name: str, detected: list[bool]) -> dict:
    """``presence_tpr_3s_<name>`` (None without windows) and ``windows_3s_<name>``, how many windows there were."""
    return {f"presence_tpr_3s_{name}": round(float(np.mean(detected)), 4) if detected else None,
            f"windows_3s_{name}": len(detected)}


def _piece_iou(marked: np.ndarray, host: np.ndarray, piece_s: float, rng: np.random.Generator, key: bytes, *,
               speed_search: bool = False) -> float | None:
    """IoU of the segments found with a ``piece_s`` piece of ``marked`` pasted into unmarked ``host``.

    0 when the mark is not found; None when the clips are too short for the piece and 1 s
    of unmarked audio on each side.
    """
    from guard.watermark import verify

    n = int(piece_s * RATE)
    if marked.shape[0] < n or host.shape[0] < n + 2 * RATE:
        return None
    src = int(rng.integers(0, marked.shape[0] - n + 1))
    at = int(rng.integers(RATE, host.shape[0] - n - RATE + 1))
    y = host.copy()
    y[at:at + n] = marked[src:src + n]
    v = verify(y, sample_rate=RATE, keys=[key], speed_search=speed_search)
    if not v.detected:
        return 0.0
    t0, t1 = at / RATE, (at + n) / RATE
    inter = sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in v.segments)
    union = (t1 - t0) + sum(b - a for a, b in v.segments) - inter
    return inter / union if union > 0 else 0.0


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
