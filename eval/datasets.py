"""Loaders for detection corpora: each yields (path, label, speaker, attack) items.

Labels are ``"bonafide"`` or ``"spoof"``; ``attack`` is the corpus's attack or system id
(``"-"`` for bona fide). Layouts, one per loader (``ROOT`` is what ``--root`` names):

- ``asvspoof2019``: ``ROOT/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.{train.trn,dev.trl,eval.trl}.txt``
  with lines ``LA_0079 LA_T_1138215 - - bonafide``; audio ``ROOT/ASVspoof2019_LA_{split}/flac/<utt>.flac``.
- ``asvspoof2021-la`` / ``asvspoof2021-df``: ``ROOT/keys/{LA,DF}/CM/trial_metadata.txt`` with lines
  ``LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval ...``; audio
  ``ROOT/ASVspoof2021_{LA,DF}_eval/flac/<utt>.flac``. ``split`` filters the subset column
  (progress, eval, hidden_track).
- ``asvspoof5``: ``ROOT/ASVspoof5_protocols/ASVspoof5.{train,dev.track_1,eval.track_1}.tsv``,
  whitespace separated: speaker, file, gender, codec, codec_q, codec_seed, attack_tag,
  attack_label, key, tmp; audio ``ROOT/flac_{T,D,E_eval}/<file>.flac``.
- ``in-the-wild``: ``ROOT/meta.csv`` (``file,speaker,label``, label ``bona-fide``/``spoof``); audio beside it.
- ``wavefake``: ``ROOT/generated_audio/<vocoder>/*.wav`` (spoof, attack = folder) and the real
  side from ``ROOT/LJSpeech-1.1/wavs/`` and ``ROOT/jsut_ver1.1/basic5000/wav/`` when present.
- ``folder``: ``ROOT/bonafide/**`` and ``ROOT/spoof/**`` (attack = first folder under spoof/).
- ``csv``: a CSV file ``file,label[,speaker,attack,split]`` (ROOT is the file, or a folder holding ``labels.csv``).
- ``selfplay``: ``ROOT/manifest.csv`` written by :mod:`eval.selfplay`.

A loader checks the layout and reads protocols; decoding happens later, where an unreadable
file is reported by name and skipped.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

from guard.audio import is_audio_path
from guard.detect.data import LabeledFile, normalise_label, read_csv
from guard.errors import DatasetError, DetectError

Item = LabeledFile


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise DatasetError(f"{path}: not found; {what}")
    return path


def _label(raw: str, where: str) -> str:
    try:
        return normalise_label(raw, where=where)
    except DetectError as exc:
        raise DatasetError(str(exc)) from None


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return [(i, line.split()) for i, line in enumerate(fh, start=1) if line.strip()]


_ASV19_PROTOCOLS = {"train": "train.trn", "dev": "dev.trl", "eval": "eval.trl"}


def asvspoof2019(root: Path, split: str | None = None) -> list[Item]:
    """ASVspoof 2019 LA (``split`` train, dev or eval; default eval)."""
    split = split or "eval"
    if split not in _ASV19_PROTOCOLS:
        raise DatasetError(f"asvspoof2019 split must be one of {sorted(_ASV19_PROTOCOLS)}, given {split!r}")
    proto = _need(root / "ASVspoof2019_LA_cm_protocols" / f"ASVspoof2019.LA.cm.{_ASV19_PROTOCOLS[split]}.txt",
                  "expected the ASVspoof 2019 LA layout (ASVspoof2019_LA_cm_protocols/)")
    audio = root / f"ASVspoof2019_LA_{split}" / "flac"
    items = []
    for i, f in _lines(proto):
        if len(f) < 5:
            raise DatasetError(f"{proto} line {i}: expected 5 fields 'SPEAKER UTT - ATTACK LABEL', given {' '.join(f)!r}")
        items.append(Item(audio / f"{f[1]}.flac", _label(f[4], f"{proto} line {i}"), split, f[0], f[3]))
    return items


def _asvspoof2021(track: str) -> Callable[[Path, str | None], list[Item]]:
    def loader(root: Path, split: str | None = None) -> list[Item]:
        meta = _need(root / "keys" / track / "CM" / "trial_metadata.txt",
                     f"expected the ASVspoof 2021 {track} keys (keys/{track}/CM/trial_metadata.txt)")
        audio = root / f"ASVspoof2021_{track}_eval" / "flac"
        items = []
        for i, f in _lines(meta):
            if len(f) < 8:
                raise DatasetError(f"{meta} line {i}: expected at least 8 fields, given {' '.join(f)!r}")
            if split and f[7] != split:
                continue
            items.append(Item(audio / f"{f[1]}.flac", _label(f[5], f"{meta} line {i}"), f[7], f[0], f[4]))
        return items

    loader.__doc__ = f"ASVspoof 2021 {track} (``split`` filters the subset column: progress, eval, hidden_track)."
    return loader


_ASV5_PROTOCOLS = {"train": ("ASVspoof5.train.tsv", "flac_T"), "dev": ("ASVspoof5.dev.track_1.tsv", "flac_D"),
                   "eval": ("ASVspoof5.eval.track_1.tsv", "flac_E_eval")}


def asvspoof5(root: Path, split: str | None = None) -> list[Item]:
    """ASVspoof 5 track 1 (``split`` train, dev or eval; default eval)."""
    split = split or "eval"
    if split not in _ASV5_PROTOCOLS:
        raise DatasetError(f"asvspoof5 split must be one of {sorted(_ASV5_PROTOCOLS)}, given {split!r}")
    name, folder = _ASV5_PROTOCOLS[split]
    proto = _need(root / "ASVspoof5_protocols" / name, "expected the ASVspoof 5 layout (ASVspoof5_protocols/)")
    items = []
    for i, f in _lines(proto):
        if len(f) < 9:
            raise DatasetError(f"{proto} line {i}: expected at least 9 fields, given {' '.join(f)!r}")
        label = _label(f[8], f"{proto} line {i}")
        items.append(Item(root / folder / f"{f[1]}.flac", label, split, f[0], "-" if label == "bonafide" else f[7]))
    return items


def in_the_wild(root: Path, split: str | None = None) -> list[Item]:
    """In-the-Wild (``meta.csv``: file,speaker,label); it has no splits."""
    del split
    meta = _need(root / "meta.csv", "expected In-the-Wild's meta.csv")
    items = []
    with open(meta, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not {"file", "speaker", "label"} <= set(reader.fieldnames or []):
            raise DatasetError(f"{meta}: header must hold file,speaker,label, given {reader.fieldnames}")
        for i, row in enumerate(reader, start=2):
            label = _label(row["label"], f"{meta} line {i}")
            items.append(Item(root / row["file"], label, "eval", row["speaker"], "-" if label == "bonafide" else "in-the-wild"))
    return items


_WAVEFAKE_REAL = (("LJSpeech-1.1/wavs", "ljspeech"), ("jsut_ver1.1/basic5000/wav", "jsut"))


def wavefake(root: Path, split: str | None = None) -> list[Item]:
    """WaveFake: generated_audio/<vocoder>/ as spoof, LJSpeech/JSUT as bona fide when present."""
    del split
    gen = _need(root / "generated_audio", "expected WaveFake's generated_audio/ folder")
    items = []
    for sub in sorted(p for p in gen.iterdir() if p.is_dir()):
        speaker = "jsut" if sub.name.startswith("jsut") else "ljspeech"
        items += [Item(p, "spoof", "eval", speaker, sub.name) for p in sorted(sub.rglob("*")) if p.is_file() and is_audio_path(p)]
    for rel, speaker in _WAVEFAKE_REAL:
        real = root / rel
        if real.is_dir():
            items += [Item(p, "bonafide", "eval", speaker, "-") for p in sorted(real.rglob("*")) if p.is_file() and is_audio_path(p)]
    if not any(it.label == "bonafide" for it in items):
        raise DatasetError(f"{root}: no real speech; put LJSpeech-1.1/ (or jsut_ver1.1/) beside generated_audio/")
    return items


def folder(root: Path, split: str | None = None) -> list[Item]:
    """A plain folder: ROOT/bonafide/** and ROOT/spoof/** (attack = first folder under spoof/)."""
    del split
    items = []
    for label in ("bonafide", "spoof"):
        sub = _need(root / label, "a dataset folder needs bonafide/ and spoof/ subfolders")
        for p in sorted(sub.rglob("*")):
            if p.is_file() and is_audio_path(p):
                rel = p.relative_to(sub).parts
                attack = "-" if label == "bonafide" else (rel[0] if len(rel) > 1 else "spoof")
                items.append(Item(p, label, "", "-", attack))
    return items


def csv_table(root: Path, split: str | None = None) -> list[Item]:
    """A CSV of file,label[,speaker,attack,split]; ``root`` is the file or a folder with labels.csv."""
    path = root / "labels.csv" if root.is_dir() else root
    _need(path, "give a CSV file (file,label) or a folder holding labels.csv")
    try:
        items = read_csv(path)
    except DetectError as exc:
        raise DatasetError(str(exc)) from None
    return [it for it in items if not split or it.split == split]


def selfplay(root: Path, split: str | None = None) -> list[Item]:
    """The self-play corpus (``ROOT/manifest.csv``); default split test."""
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise DatasetError(f"{manifest}: not found; build the corpus with `python -m eval.selfplay -o {root}`")
    return csv_table(manifest, split or "test")


LOADERS: dict[str, Callable[[Path, str | None], list[Item]]] = {
    "asvspoof2019": asvspoof2019,
    "asvspoof2021-la": _asvspoof2021("LA"),
    "asvspoof2021-df": _asvspoof2021("DF"),
    "asvspoof5": asvspoof5,
    "in-the-wild": in_the_wild,
    "wavefake": wavefake,
    "folder": folder,
    "csv": csv_table,
    "selfplay": selfplay,
}


def load_dataset(name: str, root: str | os.PathLike[str], split: str | None = None) -> list[Item]:
    """Items of corpus ``name`` under ``root``.

    Parameters
    ----------
    name : str
        One of :data:`LOADERS`.
    root : path-like
        The corpus folder (or, for ``csv``, the CSV file).
    split : str, optional
        A split or subset the corpus defines; each loader documents its default.

    Raises
    ------
    DatasetError
        Unknown name, missing root, wrong layout or a malformed protocol line.
    """
    if name not in LOADERS:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(LOADERS)}")
    r = Path(root)
    if not r.exists():
        raise DatasetError(f"{r}: dataset root not found")
    items = LOADERS[name](r, split)
    if not items:
        raise DatasetError(f"{r}: dataset {name!r} (split {split or 'default'}) holds no files")
    return items
