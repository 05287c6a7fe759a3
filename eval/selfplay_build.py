"""Write the self-play corpus: bona fide crops, each split's spoofs, and the ``manifest.csv`` that lists them.

:func:`build` draws everything from one seed; the layout is ``OUT/<split>/<label>/<name>.wav``
(16 kHz, 16-bit) and ``OUT/manifest.csv`` (``file,label,speaker,attack,split``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import click
import numpy as np

from eval.selfplay_config import SelfplayConfig, family_splits
from eval.selfplay_families import COPY_FAMILIES, SpoofFn
from eval.selfplay_sources import (
    Source,
    asterisk_sources,
    asterisk_texts,
    crops,
    librispeech_sources,
    split_speakers,
)
from guard import progress
from guard.audio import is_audio_path, load, save
from guard.errors import AudioError, DatasetError, GuardError
from guard.walk import files_under

SAMPLE_RATE = 16000
ESPEAK_VOICES = ("en-us", "en", "en-gb-x-rp", "en-029", "en-gb-scotland")
ESPEAK_VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5",
                   "+klatt", "+klatt2", "+Andy", "+Alicia", "+Gene", "+iven", "+belinda", "+steph", "+michel")


def _progress(items, *, quiet: bool, desc: str):  # noqa: ANN001, ANN202
    return items if quiet else progress.bar(items, desc=desc)


def build(
    out_dir: Path,
    *,
    seed: int,
    config: SelfplayConfig | None = None,
    extra_families: dict[str, tuple[SpoofFn, str]] | None = None,
    quiet: bool = False,
) -> Path:
    """Write the corpus under ``out_dir`` and return its ``manifest.csv``.

    Parameters
    ----------
    out_dir : Path
        Created if missing; files go to ``out_dir/<split>/<label>/``.
    seed : int
        Everything (speaker split, crops, voices, shifts) follows from it.
    config : SelfplayConfig, optional
    extra_families : dict, optional
        ``name -> (fn(y, sample_rate, rng) -> y_spoof, role)``: more copy-synthesis
        families, e.g. ``{"cloner": (convert_fn, "test")}``; role ``"test"`` makes it an
        unseen test family, anything else a training family.
    quiet : bool
        No progress bar or messages on stderr.

    Raises
    ------
    DatasetError
        When no bona fide source folder exists or holds readable audio.
    """
    config = config or SelfplayConfig()
    roles = {k: v[1] for k, v in (extra_families or {}).items()}
    family_splits(config, roles)  # refuse bad family lists before writing anything
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    sources: list[Source] = []
    if config.librispeech is not None and Path(config.librispeech).is_dir():
        sources += librispeech_sources(Path(config.librispeech))
    single: list[Source] = []
    if config.asterisk is not None and Path(config.asterisk).is_dir():
        single = asterisk_sources(Path(config.asterisk))
        rng.shuffle(single)
        single = single[: config.max_single_speaker]
    # Extra folders draw from their own stream, so that adding them leaves the speaker split
    # and every crop of the other sources as they were without them.
    extra_rng = np.random.default_rng([seed, 1])
    for folder in config.extra_single:
        if not Path(folder).is_dir():
            raise DatasetError(f"single-speaker folder {folder} does not exist")
        found = sorted(p for p in files_under(folder) if p.is_file() and is_audio_path(p))
        if not found:
            raise DatasetError(f"single-speaker folder {folder} holds no audio files")
        extra_rng.shuffle(found)
        speaker = Path(folder).name.lower()
        # prompt sets of different voices share file names: the speaker keeps their clips apart
        single += [Source(p, speaker, prefix=f"{speaker}-") for p in found[: config.max_extra_single]]
    joined = _joined_voice_clips(config, seed=seed)
    if not sources and not single and not joined:
        raise DatasetError(f"no real speech found in {config.librispeech} or {config.asterisk}; pass folders of real recordings")
    assignment = split_speakers([s.speaker for s in sources], fractions=config.speaker_fractions, rng=rng)
    assignment.update({s.speaker: "train" for s in single})
    assignment.update({speaker: "train" for speaker, _, _ in joined})
    rows: list[dict[str, str]] = []
    bona: dict[str, list[tuple[str, np.ndarray]]] = {"train": [], "dev": [], "test": []}
    for src in _progress(sources + single, quiet=quiet, desc="bona fide"):
        try:
            y = load(src.path, sample_rate=SAMPLE_RATE)
        except AudioError as exc:
            click.echo(f"skipped unreadable {src.path}: {exc}", err=True)
            continue
        split = assignment[src.speaker]
        for k, piece in enumerate(crops(y, sample_rate=SAMPLE_RATE, max_s=config.max_clip_s, count=config.crops_per_file, rng=rng)):
            if piece.shape[0] < config.min_clip_s * SAMPLE_RATE:
                continue
            name = f"{src.prefix}{src.path.stem}-{k}"
            if any(name == other for other, _ in bona[split]):
                raise DatasetError(f"two recordings would both be written as {split}/bonafide/{name}.wav "
                                   f"(the second is {src.path}); give the files distinct names")
            rows.append(_write(out_dir, split, "bonafide", name, piece, speaker=src.speaker, attack="-"))
            bona[split].append((name, piece))
    for speaker, name, clip in joined:
        rows.append(_write(out_dir, "train", "bonafide", name, clip, speaker=speaker, attack="-"))
        bona["train"].append((name, clip))
    families = {**COPY_FAMILIES, **{k: v[0] for k, v in (extra_families or {}).items()}}
    train_fams, dev_only, test_fams = family_splits(config, roles)
    speaker_of = {r["file"]: r["speaker"] for r in rows}
    for split in ("train", "dev", "test"):
        fams = test_fams if split == "test" else train_fams
        if "espeak" in fams:
            rows += _espeak_rows(out_dir, split, count=config.espeak_clips.get(split, 0), rng=rng, quiet=quiet)
        copy_fams = [f for f in fams if f != "espeak"]
        if not copy_fams:
            continue
        for name, piece in _progress(bona[split], quiet=quiet, desc=f"{split} spoofs"):
            chosen = copy_fams if split == "test" else list(rng.permutation(copy_fams)[: config.copies_per_clip])
            if split == "dev":
                chosen += [f for f in dev_only if f not in chosen]
            for fam in chosen:
                try:
                    fake = families[fam](piece, SAMPLE_RATE, rng)
                except GuardError as exc:
                    click.echo(f"skipped {fam} of {name}: {exc}", err=True)
                    continue
                # A family that speaks in its own voice (the cloner) names it; copies keep the source's.
                speaker = getattr(families[fam], "speaker", None) or speaker_of[f"{split}/bonafide/{name}.wav"]
                rows.append(_write(out_dir, split, "spoof", f"{name}-{fam}", fake, speaker=speaker, attack=fam))
    manifest = out_dir / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "label", "speaker", "attack", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def _joined_voice_clips(config: SelfplayConfig, *, seed: int) -> list[tuple[str, str, np.ndarray]]:
    """(speaker, clip name, clip) of every folder in ``config.joined_voices``, joined as ``bench false-alarms`` does.

    Raises
    ------
    DatasetError
        A folder is missing, holds no audio, or too little for one clip.
    """
    from eval.bench_false_alarms import Voice, audio_files, voice_clips

    def unreadable(path: Path, message: str) -> None:
        click.echo(f"skipped unreadable {path}: {message}", err=True)

    out: list[tuple[str, str, np.ndarray]] = []
    for folder in config.joined_voices:
        folder = Path(folder)
        if not folder.is_dir():
            raise DatasetError(f"joined-voice folder {folder} does not exist")
        files = audio_files(folder)
        if not files:
            raise DatasetError(f"joined-voice folder {folder} holds no audio files")
        speaker = f"joined-{folder.parent.name}-{folder.name}".lower()
        if any(speaker == other for other, _, _ in out):  # their clips would overwrite each other's
            raise DatasetError(f"two joined-voice folders would both be speaker {speaker} (the second is {folder}); "
                               "give them distinct folder names")
        clips = voice_clips(Voice(speaker, files), clip_s=config.joined_clip_s, max_clips=config.max_joined_clips,
                            seed=seed, on_unreadable=unreadable)
        if not clips:
            raise DatasetError(f"joined-voice folder {folder} holds under {config.joined_clip_s:g} s of readable audio")
        out += [(speaker, f"{speaker}-{i:03d}", clip[: int(config.max_clip_s * SAMPLE_RATE)]) for i, clip in enumerate(clips)]
    return out


def _espeak_rows(out_dir: Path, split: str, *, count: int, rng: np.random.Generator, quiet: bool) -> list[dict[str, str]]:
    from cloner.tts import synthesize

    texts = asterisk_texts()
    rows = []
    # Voice variants are split too, so dev speakers (voices) are unseen in training.
    variants = [v for i, v in enumerate(ESPEAK_VARIANTS) if (i % 4 == 3) == (split != "train")]
    for i in _progress(range(count), quiet=quiet, desc=f"{split}/espeak"):
        voice = str(rng.choice(ESPEAK_VOICES)) + str(rng.choice(variants))
        text = str(rng.choice(texts))
        y = synthesize(text, voice=voice, rate_wpm=int(rng.integers(130, 220)), pitch=int(rng.integers(25, 75)),
                       pitch_range=int(rng.integers(20, 80)), sample_rate=SAMPLE_RATE)
        rows.append(_write(out_dir, split, "spoof", f"espeak-{i:04d}", y, speaker=f"espeak-{voice}", attack="espeak"))
    return rows


def _write(out_dir: Path, split: str, label: str, name: str, y: np.ndarray, *, speaker: str, attack: str) -> dict[str, str]:
    folder = out_dir / split / label
    folder.mkdir(parents=True, exist_ok=True)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0.99:
        y = y / peak * 0.99
    save(folder / f"{name}.wav", y.astype(np.float32), sample_rate=SAMPLE_RATE)
    return {"file": f"{split}/{label}/{name}.wav", "label": label, "speaker": speaker, "attack": attack, "split": split}
