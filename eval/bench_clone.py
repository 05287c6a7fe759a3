"""`voiceguard bench clone`: how close, how intelligible and how fast the cloning pipeline is.

For each voice (the real Debian asterisk voice when installed, enrolled under a research
licence consent; synthetic personas, enrolled under a spoken consent statement) a fresh
home is made, the voice enrolled through :func:`cloner.enroll.enroll`, and held-out
sentences with real recordings compared three ways: the clone, the TTS front end alone
(same rate and pitch, no conversion: the baseline; ``tts_plain`` is espeak-ng at its
defaults), and the real recording passed through WORLD unchanged (the vocoder's ceiling;
``ceiling_postfilter`` adds the voice's spectral post-filter, as clones get). Metrics: MCD (dB, DTW-aligned, energy excluded),
F0 RMSE (cents) and log-F0 correlation, speaker similarity (resemblyzer cosine to the mean
embedding of the enrollment recordings), WER (pocketsphinx, language model restricted to
the test sentences), training time and synthesis real-time factor; and one full
``clone()`` of a ~10 s text whose watermark must verify with its own payload.

Per voice, :func:`gaps` sums the clone up against the bars in :data:`TARGETS`
(:data:`GAP_DEFINITIONS` says what each figure compares). ``wer_gap`` is the clone's WER
minus TTS-only's, the figure the cloning bar is set on; pocketsphinx hears espeak poorly, so
the clone is also held against the real recordings' WER (``wer_gap_vs_real``), the stricter
yardstick of intelligibility.
"""

from __future__ import annotations

import dataclasses
import gzip
import tempfile
import time
from datetime import date, timedelta
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
from guard.errors import DatasetError

ASTERISK_DIR = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
ASTERISK_LICENSE = (
    "asterisk-core-sounds-en (Debian package), recordings by Allison Smith, licensed CC-BY-SA-3.0 "
    "(see /usr/share/doc/asterisk-core-sounds-en/copyright). The licence permits copying and adapting "
    "the recordings for any purpose with attribution; this consent limits their use to research and "
    "detector training, and no clip leaves the benchmark."
)
VOICES = ("asterisk", "nova", "orson")
TARGETS = {"mcd_reduction_min": 0.35, "similarity_gain_min": 0.03, "wer_gap_max": 0.10,
           "train_s_max_3min": 600.0, "rtf_max": 0.2}
GAP_DEFINITIONS = {
    "mcd_reduction": "1 - clone MCD / TTS-only MCD (0.4 = 40 % lower)",
    "similarity_gain": "clone speaker similarity - TTS-only speaker similarity",
    "wer_gap": "clone WER - TTS-only WER (0.1 = 10 points worse); the bar wer_gap_max applies to it",
    "wer_gap_vs_real": "clone WER - the real recordings' WER (stricter: pocketsphinx hears espeak poorly)",
}


def asterisk_items(*, root: Path = ASTERISK_DIR, transcripts: Path = ASTERISK_TRANSCRIPTS) -> list[tuple[Path, str]]:
    """(wav, transcript) pairs of spoken prompts with at least 4 words, sorted by file name.

    Raises
    ------
    DatasetError
        When the package (``apt install asterisk-core-sounds-en``) is not installed.
    """
    if not root.is_dir() or not transcripts.is_file():
        raise DatasetError(f"asterisk English sounds not found at {root} / {transcripts}; "
                           "install the Debian package asterisk-core-sounds-en")
    items = []
    with gzip.open(transcripts, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(";") or ":" not in line:
                continue
            key, text = (s.strip() for s in line.split(":", 1))
            path = root / f"{key}.wav"
            if "[" not in text and len(text.split()) >= 4 and path.is_file():
                items.append((path, text))
    return sorted(items)


def _prepare(name: str, *, folder: Path, train_s: float, n_test: int, seed: int) -> tuple[int, list[tuple[str, np.ndarray]]]:
    """Write the enrollment recordings of voice ``name`` into ``folder``; return (rate, held-out pairs)."""
    from cloner import personas, script
    from cloner.recordings import quality_problem, speech_seconds
    from guard.audio import load, save

    folder.mkdir(parents=True)
    if name == "asterisk":
        rate = 8000
        # A few prompts are (near-)silent files; enrollment rightly rejects them, so skip them here.
        items = [(p, t) for p, t in asterisk_items() if quality_problem(load(p, sample_rate=rate), sample_rate=rate) is None]
        order = np.random.default_rng(seed).permutation(len(items))
        test = [(items[i][1], load(items[i][0], sample_rate=rate)) for i in order[:n_test]]
        pool = [items[i] for i in order[n_test:]]
        render = lambda i: load(pool[i][0], sample_rate=rate)  # noqa: E731
        texts = [t for _, t in pool]
    else:
        rate = 16000
        persona = personas.get(name)
        sentences = script.SENTENCES
        test = [(t, persona.speak(t, sample_rate=rate)) for t in sentences[-n_test:]]
        texts = list(sentences[:-n_test])
        render = lambda i: persona.speak(texts[i], sample_rate=rate)  # noqa: E731
    total = 0.0
    for i, text in enumerate(texts):
        y = render(i)
        save(folder / f"{i:03d}.wav", y, sample_rate=rate)
        (folder / f"{i:03d}.txt").write_text(text + "\n")
        total += speech_seconds(y, sample_rate=rate)
        if total >= train_s:
            break
    return rate, test


def _grant(home, name: str, voice_id: str, *, work: Path, rate: int):  # noqa: ANN001, ANN202
    from cloner import personas
    from eval.bench_consent_code import grant_read_statement
    from guard import consent

    expires = (date.today() + timedelta(days=365)).isoformat()
    if name == "asterisk":
        return consent.grant(home, voice_id=voice_id, subject="Allison Smith (asterisk-core-sounds-en recordings)",
                             operator="voiceguard benchmark", purposes=("research", "detector-training"),
                             expires=expires, license_text=ASTERISK_LICENSE)
    purposes = ("research", "detector-training")
    subject = f"persona {name} (synthetic speech)"
    terms = {"subject": subject, "operator": "voiceguard benchmark", "purposes": purposes, "expires": expires}
    return grant_read_statement(home, personas.get(name), voice_id=voice_id, terms=terms, wav=work / "statement.wav",
                                sample_rate=rate)[0]


def compare(a: np.ndarray, b: np.ndarray, *, sample_rate: int) -> dict:
    """MCD (dB), F0 RMSE (cents) and log-F0 correlation of ``a`` against reference ``b``, DTW-aligned."""
    from cloner import align, world
    from cloner.enroll import trim

    fa = world.analyze(trim(a, sample_rate=sample_rate), sample_rate=sample_rate)
    fb = world.analyze(trim(b, sample_rate=sample_rate), sample_rate=sample_rate)
    path = align.align(fa.mcep, fb.mcep).path
    mcd = world.mcd_db(fa.mcep[path[:, 0]], fb.mcep[path[:, 1]])
    f0a, f0b = fa.f0_hz[path[:, 0]], fb.f0_hz[path[:, 1]]
    both = (f0a > 0) & (f0b > 0)
    rmse = float(np.sqrt(np.mean((1200 * np.log2(f0a[both] / f0b[both])) ** 2))) if both.sum() > 2 else float("nan")
    corr = float(np.corrcoef(np.log(f0a[both]), np.log(f0b[both]))[0, 1]) if both.sum() > 2 else float("nan")
    return {"mcd_db": mcd, "f0_rmse_cents": rmse, "f0_corr": corr}


def gaps(summary: dict) -> dict:
    """The clone against TTS-only and the real recordings, from the per-kind mean metrics (see :data:`GAP_DEFINITIONS`).

    Parameters
    ----------
    summary : dict
        ``kind -> {metric: mean}`` with kinds ``clone``, ``tts`` (MCD in dB, similarity and WER
        as fractions) and ``real`` (WER).

    Returns
    -------
    dict
        ``mcd_reduction``, ``similarity_gain``, ``wer_gap`` (clone - TTS-only) and ``wer_gap_vs_real``
        (clone - real), rounded to 4 places.

    Examples
    --------
    >>> row = {"mcd_db": 10.0, "similarity": 0.7}
    >>> gaps({"clone": {**row, "wer": 0.29}, "tts": {**row, "mcd_db": 20.0, "wer": 0.87}, "real": {"wer": 0.06}})
    {'mcd_reduction': 0.5, 'similarity_gain': 0.0, 'wer_gap': -0.58, 'wer_gap_vs_real': 0.23}
    """
    clone, tts, real = summary["clone"], summary["tts"], summary["real"]
    return {"mcd_reduction": round(1 - clone["mcd_db"] / tts["mcd_db"], 4),
            "similarity_gain": round(clone["similarity"] - tts["similarity"], 4),
            "wer_gap": round(clone["wer"] - tts["wer"], 4),
            "wer_gap_vs_real": round(clone["wer"] - real["wer"], 4)}


def measure_voice(name: str, *, work: Path, train_s: float, n_test: int, steps: int | None,
                  postfilter_steps: int | None, seed: int, progress: bool) -> dict:
    """Enroll voice ``name`` in a fresh home under ``work`` and measure it (see module docstring)."""
    from cloner import pipeline, tts, world
    from cloner.convert import ConvertConfig
    from cloner.enroll import enroll
    from cloner.voice import load_voice
    from guard import asr, speaker, watermark
    from guard.audio import load
    from guard.home import init_home

    home, _ = init_home(work / "home")
    rate, test = _prepare(name, folder=work / "recordings", train_s=train_s, n_test=n_test, seed=seed)
    voice_id = f"bench-{name}"
    record = _grant(home, name, voice_id, work=work, rate=rate)
    config = ConvertConfig()
    if steps is not None:
        config = dataclasses.replace(config, steps=steps)
    if postfilter_steps is not None:
        config = dataclasses.replace(config, postfilter_steps=postfilter_steps)
    enrolled = enroll(home, voice_id, recordings_dir=work / "recordings", consent_id=record.consent_id,
                      config=config, seed=seed, progress=progress, warn=lambda m: None)
    model = load_voice(home, voice_id)
    train_audio = [load(p, sample_rate=rate) for p in sorted((work / "recordings").glob("*.wav"))[:20]]
    ref = np.mean([speaker.embed_speaker(y, sample_rate=rate) for y in train_audio], axis=0)
    phrases = [t for t, _ in test]
    rows: dict[str, list[dict]] = {}
    synth_s = audio_s = 0.0
    for text, real in test:
        t0 = time.perf_counter()
        cloned = pipeline.speak(model, text)
        synth_s += time.perf_counter() - t0
        audio_s += cloned.shape[0] / rate
        vocoded = world.resynthesize(real, sample_rate=rate)
        clips = {"clone": cloned, "tts": pipeline.render_tts(model, text),
                 "tts_plain": tts.synthesize(text, voice=model.tts.language, sample_rate=rate),
                 "ceiling": vocoded, "real": real}
        if model.postfilter is not None:
            clips["ceiling_postfilter"] = model.postfilter(vocoded)
        for kind, y in clips.items():
            row = compare(y, real, sample_rate=rate) if kind != "real" else {}
            row["similarity"] = speaker.similarity(speaker.embed_speaker(y, sample_rate=rate), ref)
            row["wer"] = asr.wer(text, asr.transcribe(y, sample_rate=rate, phrases=phrases))
            rows.setdefault(kind, []).append(row)
    summary = {kind: {k: round(float(np.nanmean([r[k] for r in rs])), 4) for k in rs[0]} for kind, rs in rows.items()}
    long_text = " ".join(phrases[:3])
    t0 = time.perf_counter()
    result = pipeline.clone(home, voice_id, long_text, purpose="research", out_path=work / "clone.wav")
    clone_s = time.perf_counter() - t0
    check = watermark.verify(load(result.file, sample_rate=rate), sample_rate=rate, keys=home.watermark_keys())
    return {
        "voice": name, "kind": "real (asterisk-core-sounds-en, 8 kHz)" if name == "asterisk" else "synthetic persona",
        "sample_rate": rate, "speech_s": enrolled.speech_s, "n_recordings": enrolled.n_recordings,
        "n_test": len(test), "steps": config.steps, "postfilter_steps": config.postfilter_steps, "train_s": round(enrolled.train_s, 1),
        "tts_settings": model.tts.__dict__, "metrics": summary, **gaps(summary),
        "synthesis_rtf": round(synth_s / audio_s, 4),
        "clone_call": {"audio_s": result.duration_s, "wall_s": round(clone_s, 3),
                       "rtf": round(clone_s / result.duration_s, 4),
                       "watermark_detected": bool(check.detected),
                       "payload_matches": check.payload == int(result.payload, 16)},
    }


def mcd_change(reduction: float) -> str:
    """The change in MCD a ``reduction`` (0.4 = 40 % lower) makes, signed: ``"-40%"``, ``"+2%"`` when it grew.

    Examples
    --------
    >>> mcd_change(0.4), mcd_change(-0.0186)
    ('-40%', '+2%')
    """
    change = -100 * reduction
    return f"{change:+.0f}%" if round(change) != 0 else "0%"


def plot(results: list[dict], path: Path) -> None:
    """Bars per voice: MCD, speaker similarity and WER of TTS-only, clone, vocoder ceiling (and real)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
    kinds = ("tts_plain", "tts", "clone", "ceiling", "ceiling_postfilter", "real")
    x = np.arange(len(results))
    width = 0.8 / len(kinds)
    for ax, metric, label in zip(axes, ("mcd_db", "similarity", "wer"), ("MCD (dB, lower is better)",
                                 "speaker similarity (higher is better)", "WER (lower is better)")):
        for j, kind in enumerate(kinds):
            values = [r["metrics"].get(kind, {}).get(metric, np.nan) for r in results]
            if not np.all(np.isnan(values)):
                ax.bar(x + (j - len(kinds) / 2 + 0.5) * width, values, width, label=kind, color=f"C{j}")
        ax.set_xticks(x, [r["voice"] for r in results])
        ax.set_title(label)
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@click.command("clone")
@click.option("--voice", "voices", multiple=True, type=click.Choice(VOICES), help="Voices to measure (default: all; asterisk skipped when not installed).")
@click.option("--train-s", type=FiniteFloat(60.0, 3600.0), default=180.0, show_default=True, help="Seconds of enrollment speech per voice.")
@click.option("--test", "n_test", type=click.IntRange(2, 100), default=10, show_default=True, help="Held-out sentences per voice.")
@click.option("--steps", type=click.IntRange(1, 100_000), default=None, help="Conversion training steps (default: the enrollment default).")
@click.option("--postfilter-steps", type=click.IntRange(0, 100_000), default=None, help="Post-filter training steps (default: the enrollment default; 0 = none).")
@click.option("--out", "out_dir", type=OutputFolder(), default=None, help="Write clone.json and clone.png here.")
@seed_option
@json_option
@quiet_option
def command(voices: tuple[str, ...], train_s: float, n_test: int, steps: int | None, postfilter_steps: int | None,
            out_dir: Path | None, seed: int, as_json: bool, quiet: bool) -> None:
    """Enroll each voice in a fresh home, clone held-out sentences, compare with TTS-only and real."""
    import torch

    silent = as_json or quiet
    torch.set_num_threads(1)
    chosen = list(voices or VOICES)
    notes = []
    if "asterisk" in chosen and not ASTERISK_DIR.is_dir():
        chosen.remove("asterisk")
        notes.append(f"asterisk skipped: {ASTERISK_DIR} not installed")
    results = []
    for name in chosen:
        say(f"bench clone: {name}", quiet=silent)
        with tempfile.TemporaryDirectory() as tmp:
            results.append(measure_voice(name, work=Path(tmp), train_s=train_s, n_test=n_test, steps=steps,
                                         postfilter_steps=postfilter_steps, seed=seed, progress=not silent))
    report = {"seed": seed, "train_s_requested": train_s, "targets": TARGETS, "definitions": GAP_DEFINITIONS,
              "notes": notes, "voices": results,
              "machine_note": "2 CPU cores shared with other work; torch limited to 1 thread"}
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "clone.json").write_text(to_json(report, indent=2))
        if results:
            plot(results, out_dir / "clone.png")
    if as_json:
        emit_json(report)
        return
    if quiet:
        return
    for note in notes:
        say(note)
    for r in results:
        m = r["metrics"]
        say(f"{r['voice']:9s} ({r['kind']}, {r['speech_s']:.0f} s enrolled, trained in {r['train_s']:.0f} s)")
        for kind in ("tts_plain", "tts", "clone", "ceiling", "ceiling_postfilter", "real"):
            if kind not in m:
                continue
            row = m[kind]
            mcd = f"MCD {row['mcd_db']:6.2f} dB  F0 RMSE {row['f0_rmse_cents']:6.1f} c  " if "mcd_db" in row else " " * 37
            say(f"  {kind:18s} {mcd}similarity {row['similarity']:.3f}  WER {100 * row['wer']:5.1f}%")
        say(f"  MCD {mcd_change(r['mcd_reduction'])}  similarity {r['similarity_gain']:+.3f}  "
            f"WER gap clone - TTS-only {100 * r['wer_gap']:+.1f} points (clone - real {100 * r['wer_gap_vs_real']:+.1f})  "
            f"synthesis RTF {r['synthesis_rtf']:.3f}  clone() of "
            f"{r['clone_call']['audio_s']:.1f} s in {r['clone_call']['wall_s']:.2f} s, watermark "
            f"{'verified' if r['clone_call']['payload_matches'] else 'NOT verified'}")
