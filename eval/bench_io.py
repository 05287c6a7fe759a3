"""`voiceguard bench io`: decode speed per format and espeak-ng TTS speed, in x real time."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from guard.cliutil import (
    FiniteFloat,
    OutputFolder,
    emit_json,
    json_option,
    quiet_option,
    say,
    seed_option,
    to_json,
)

FORMATS = ("wav", "flac", "mp3", "ogg", "opus", "m4a")
TTS_TEXT = ("Consent comes first: every clip we make carries a mark and a signed record, "
            "so anyone can check where a voice came from and who agreed to it.")


def _median_speed(fn, audio_s: float, repeats: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return audio_s / statistics.median(times)


def measure(*, duration_s: float, repeats: int, seed: int) -> dict:
    """Decode speed (x real time, to 16 kHz mono) per format and TTS speed.

    Parameters
    ----------
    duration_s : float > 0
        Length of the synthetic test signal (speech-like noise bursts plus tones).
    repeats : int >= 1
        Timings per figure; the median is reported.
    seed : int
    """
    import torch

    from cloner.tts import synthesize
    from guard.audio import load, save

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    sr = 44100
    n = int(duration_s * sr)
    t = np.arange(n) / sr
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)
    y = (0.2 * envelope * (np.sin(2 * np.pi * 220 * t) + 0.3 * rng.standard_normal(n))).astype(np.float32)
    results: dict = {"duration_s": duration_s, "repeats": repeats, "decode_x_realtime": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            path = save(Path(tmp) / f"x.{fmt}", y, sample_rate=sr, bitrate_bps=64000)
            results["decode_x_realtime"][fmt] = round(_median_speed(lambda p=path: load(p, sample_rate=16000), duration_s, repeats), 1)
    speech = synthesize(TTS_TEXT, sample_rate=16000)
    speech_s = speech.shape[0] / 16000
    results["tts_x_realtime"] = round(_median_speed(lambda: synthesize(TTS_TEXT, sample_rate=16000), speech_s, repeats), 1)
    results["tts_audio_s"] = round(speech_s, 2)
    return results


@click.command("io")
@click.option("--duration", "duration_s", type=FiniteFloat(1.0, 3600.0), default=60.0, show_default=True, help="Test signal length in seconds.")
@click.option("--repeats", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--out", "out_dir", type=OutputFolder(), default=None, help="Write io.json here.")
@seed_option
@json_option
@quiet_option
def command(duration_s: float, repeats: int, out_dir: Path | None, seed: int, as_json: bool, quiet: bool) -> None:
    """Decode speed for wav/flac/mp3/ogg/opus/m4a and TTS speed (medians, x real time, one thread)."""
    results = measure(duration_s=duration_s, repeats=repeats, seed=seed)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "io.json").write_text(to_json(results, indent=2))
    if as_json:
        emit_json(results)
        return
    if quiet:
        return
    say(f"decode to 16 kHz mono, {duration_s:g} s signal, median of {repeats}:")
    for fmt, speed in results["decode_x_realtime"].items():
        say(f"  {fmt:5s} {speed:9.1f} x real time")
    say(f"tts (espeak-ng, {results['tts_audio_s']} s of speech): {results['tts_x_realtime']:.1f} x real time")
