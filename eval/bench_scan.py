"""`voiceguard bench scan`: scan throughput (x real time per worker) and the pool's speedup.

It builds a folder of mixed files (espeak-ng speech in several voices, formats and rates;
some marked with the home's watermark when guard.watermark is installed; some broken:
empty, truncated, non-audio under an audio name; plus non-audio files that are skipped),
then times whole scans end to end (scanner set-up, model load and pool start-up included)
with 1 worker and with N workers, alternating, and reports medians.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from guard.cliutil import (
    OutputFolder,
    emit_json,
    json_option,
    progress,
    quiet_option,
    say,
    seed_option,
    to_json,
)

SENTENCES = (
    "Please call me back when you get this message, it is about the contract.",
    "The quarterly numbers look better than we expected, but keep it quiet for now.",
    "I am at the station and the train is late again, so start without me.",
    "Transfer the money to the new account before the end of the day.",
    "This is your bank calling about a suspicious payment on your card.",
    "We met at the conference last spring, do you remember the talk on rivers?",
    "The weather turned cold overnight and the roads are icy near the bridge.",
    "Can you read the last paragraph again, slowly this time, for the recording?",
)
VOICES = ("en-us", "en-gb-x-rp", "en-us+f3", "en+m3", "en-029", "en-us-nyc")
FORMATS = (("wav", None), ("flac", None), ("mp3", 32000), ("ogg", 48000), ("opus", 24000), ("m4a", 48000))
RATES = (16000, 8000, 22050, 44100)


def make_corpus(folder: Path, *, n_files: int, seed: int, watermark_key: bytes | None,
                silent: bool = True) -> dict:
    """Write ``n_files`` files to scan (1 in 20 broken, at least 3) and two skipped non-audio files.

    Parameters
    ----------
    folder : Path
        Created; files go in per-format subfolders.
    n_files : int >= 4
        Files with an audio extension (each gives one scan row).
    seed : int
    watermark_key : bytes or None
        When given and guard.watermark is installed, about one clip in three is marked with it
        (named ``marked*``), before its rate change and encoding.
    silent : bool
        No progress bar.

    Returns
    -------
    dict
        ``files``, ``broken``, ``marked``, ``skipped`` counts and ``audio_s`` (decodable audio).
    """
    from cloner.tts import synthesize
    from guard import watermark
    from guard.audio import resample, save

    rng = np.random.default_rng(seed)
    wm = watermark if watermark_key is not None else None
    speech = [synthesize(s, voice=VOICES[i % len(VOICES)], sample_rate=16000) for i, s in enumerate(SENTENCES)]
    n_broken = max(3, n_files // 20)
    audio_s, marked = 0.0, 0
    for i in progress(range(n_files - n_broken), silent=silent, desc="corpus", total=n_files - n_broken):
        mark = wm is not None and rng.random() < 1 / 3
        pick = rng.choice(len(speech), size=3, replace=False)
        duration_s = rng.uniform(6.0 if mark else 4.0, 10.0)  # a payload needs more than 5 s
        y = np.concatenate([speech[k] for k in pick])[: int(duration_s * 16000)]
        y = (y * rng.uniform(0.5, 1.0) / max(1e-6, float(np.max(np.abs(y))))).astype(np.float32)
        if mark:
            y = wm.embed(y, sample_rate=16000, payload=int(rng.integers(0, 2**32)), key=watermark_key)
            marked += 1
        fmt, bitrate = FORMATS[i % len(FORMATS)]
        rate = RATES[int(rng.integers(len(RATES)))]
        if fmt == "opus" and rate in (22050, 44100):
            rate = 48000
        out = resample(y, orig_sr=16000, target_sr=rate)
        (folder / fmt).mkdir(parents=True, exist_ok=True)
        name = f"{'marked' if mark else 'clip'}{i:04d}.{fmt}"
        save(folder / fmt / name, out, sample_rate=rate, bitrate_bps=bitrate)
        audio_s += y.shape[0] / 16000
    broken = folder / "broken"
    broken.mkdir(parents=True, exist_ok=True)
    good = next((folder / "wav").glob("*.wav")).read_bytes()
    for j in range(n_broken):
        kind = j % 3
        if kind == 0:
            (broken / f"empty{j}.wav").write_bytes(b"")
        elif kind == 1:
            (broken / f"truncated{j}.wav").write_bytes(good[: 12 + j % 24])  # cut inside the header
        else:
            (broken / f"notaudio{j}.mp3").write_text("voice message transcript, not audio\n" * 20)
    (folder / "README.txt").write_text("a note that is not audio\n")
    (folder / "broken" / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    return {"files": n_files, "broken": n_broken, "marked": marked, "skipped": 2, "audio_s": round(audio_s, 2)}


def plot(results: dict, path: Path) -> Path:
    """Bar chart of x real time per worker for 1 and N workers, with the speedup in the title."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.2), dpi=100, layout="constrained")
    ax = fig.subplots()
    labels = list(results["x_realtime_per_worker"])
    ax.bar([f"{w} worker(s)" for w in labels], [results["x_realtime_per_worker"][w] for w in labels], color="#1f6feb")
    ax.axhline(50, color="#d1242f", linestyle="--", linewidth=1, label="target 50x")
    ax.set_ylabel("x real time per worker")
    ax.set_title(f"scan of {results['corpus']['files']} files: speedup {results['speedup']:.2f}x", fontsize=10)
    ax.legend(fontsize=8)
    fig.savefig(path)
    return path


def _timed_scan(folder: Path, *, home_dir: str, model_path: str | None, workers: int) -> tuple[float, float, list]:
    """Scan ``folder`` end to end; return (wall seconds, CPU seconds of this process and its workers, results)."""
    import resource

    from guard.scan import ScanConfig, Scanner, scan_files
    from guard.scan_collect import collect

    def cpu_s() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    t0, c0 = time.perf_counter(), cpu_s()
    files, _ = collect([folder])
    scanner = Scanner(ScanConfig(home_dir=home_dir, model_path=model_path))
    results = list(scan_files(files, scanner=scanner, workers=workers))
    return time.perf_counter() - t0, cpu_s() - c0, results  # pool workers are reaped at its shutdown


def _tally(results: list) -> dict:
    verdicts = {v: sum(r.verdict == v for r in results) for v in ("watermarked", "likely-synthetic", "no-evidence", "error")}
    marked = [Path(r.file).name.startswith("marked") for r in results]
    return {"verdicts": verdicts,
            "marked_found": sum(m and r.verdict == "watermarked" for m, r in zip(marked, results)),
            "unmarked_called_watermarked": sum(not m and r.verdict == "watermarked" for m, r in zip(marked, results))}


def measure(*, n_files: int, workers: int, repeats: int, seed: int, model_path: str | None = None,
            silent: bool = True) -> dict:
    """Build the corpus in a temporary home and time scans with 1 and ``workers`` workers.

    ``model_path`` is the detector to use (None: the default model, when shipped).

    Returns
    -------
    dict
        Corpus counts; per-run wall and CPU seconds and their medians;
        ``x_realtime_per_worker`` (audio seconds / median wall seconds / workers) and
        ``x_realtime_per_cpu_s`` (audio seconds / median CPU seconds: what one uncontended
        core does) for both settings; ``speedup`` (median 1-worker wall time / median
        N-worker wall time); whether every run gave one row per file and an error row per
        broken file; verdict counts; the parts that did not run; CPU count and load average.
    """
    import torch

    from guard.home import init_home
    from guard.scan import ScanConfig, Scanner

    torch.set_num_threads(1)
    settings = (1, workers)
    wall: dict[int, list[float]] = {w: [] for w in settings}
    cpu: dict[int, list[float]] = {w: [] for w in settings}
    rows_ok = True
    with tempfile.TemporaryDirectory() as tmp:
        home, _ = init_home(Path(tmp) / "home")
        folder = Path(tmp) / "inbox"
        corpus = make_corpus(folder, n_files=n_files, seed=seed, watermark_key=home.watermark_key(), silent=silent)
        notes = Scanner(ScanConfig(home_dir=str(home.root), model_path=model_path)).notes
        load_before = os.getloadavg()
        for _ in progress(range(repeats), silent=silent, desc="timing", total=repeats):
            for w in settings:  # alternate, so a change in the machine's load hits both settings
                wall_s, cpu_s, results = _timed_scan(folder, home_dir=str(home.root), model_path=model_path, workers=w)
                wall[w].append(round(wall_s, 3))
                cpu[w].append(round(cpu_s, 3))
                tally = _tally(results)
                rows_ok &= len(results) == corpus["files"] and tally["verdicts"]["error"] == corpus["broken"]
        load_after = os.getloadavg()
    med_wall = {w: statistics.median(wall[w]) for w in settings}
    med_cpu = {w: statistics.median(cpu[w]) for w in settings}
    audio_s = corpus["audio_s"]
    return {"corpus": corpus, "workers": workers, "repeats": repeats, "model": model_path or "default",
            "wall_s": {str(w): wall[w] for w in settings}, "cpu_s": {str(w): cpu[w] for w in settings},
            "median_wall_s": {str(w): round(med_wall[w], 3) for w in settings},
            "x_realtime_per_worker": {str(w): round(audio_s / med_wall[w] / w, 1) for w in settings},
            "x_realtime_per_cpu_s": {str(w): round(audio_s / med_cpu[w], 1) for w in settings},
            "speedup": round(med_wall[1] / med_wall[workers], 2), "one_row_per_file": rows_ok, **tally,
            "not_run": notes, "cpu_count": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in load_after]}


@click.command("scan")
@click.option("--files", "n_files", type=click.IntRange(20, 5000), default=200, show_default=True,
              help="Files with an audio extension in the corpus (1 in 20 broken, at least 3).")
@click.option("--workers", type=click.IntRange(2, 64), default=2, show_default=True, help="Pool size compared with 1 worker.")
@click.option("--repeats", type=click.IntRange(1, 20), default=3, show_default=True, help="Timed scans per setting; medians reported.")
@click.option("--out", "out_dir", type=OutputFolder(), default=None, help="Write scan.json and scan.png here.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Detector model (default: the shipped one); speed depends on its architecture only.")
@seed_option
@json_option
@quiet_option
def command(n_files: int, workers: int, repeats: int, out_dir: Path | None, model_path: Path | None, seed: int,
            as_json: bool, quiet: bool) -> None:
    """Scan throughput (x real time per worker, end to end) with 1 and N workers, and the speedup."""
    results = measure(n_files=n_files, workers=workers, repeats=repeats, seed=seed,
                      model_path=str(model_path) if model_path else None, silent=as_json or quiet)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "scan.json").write_text(to_json(results, indent=2))
        plot(results, out_dir / "scan.png")
    if as_json:
        emit_json(results)
        return
    c = results["corpus"]
    say(f"corpus: {c['files']} files ({c['broken']} broken, {c['marked']} marked), {c['audio_s']:.0f} s of audio, "
        f"{c['skipped']} non-audio skipped; {results['cpu_count']} CPUs, load average {results['loadavg_before']} "
        f"before, {results['loadavg_after']} after", quiet=quiet)
    for note in results["not_run"]:
        say(f"  note: {note}", quiet=quiet)
    for w in ("1", str(workers)):
        say(f"workers={w}: median {results['median_wall_s'][w]:.2f} s over {repeats} (runs {results['wall_s'][w]}): "
            f"{results['x_realtime_per_worker'][w]:.1f} x real time per worker, "
            f"{results['x_realtime_per_cpu_s'][w]:.1f} x real time per CPU second", quiet=quiet)
    say(f"speedup {workers} vs 1 worker: {results['speedup']:.2f}x; one row per file: {results['one_row_per_file']}; "
        f"verdicts {results['verdicts']}", quiet=quiet)
    say(f"marked files called watermarked: {results['marked_found']} of {c['marked']} (after codecs and rate changes); "
        f"unmarked called watermarked: {results['unmarked_called_watermarked']}", quiet=quiet)
