"""Loaders for detection corpora: each yields (path, label, speaker, attack) items.

Labels are ``"bonafide"`` or ``"spoof"``; ``attack`` is the corpus's attack or system id
(``"-"`` for bona fide). Layouts, one per loader (``ROOT`` is what ``--root`` names):

- ``asvspoof2019``: ``ROOT/LA/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.{train.trn,dev.trl,eval.trl}.txt``
  with lines ``LA_0079 LA_T_1138215 - - bonafide``; audio ``ROOT/LA/ASVspoof2019_LA_{split}/flac/<utt>.flac``
  (the ``LA/`` level may be omitted). The organizers' ASV scores, when present, are
  ``ROOT/LA/ASVspoof2019_LA_asv_scores/ASVspoof2019.LA.asv.{dev,eval}.gi.trl.scores.txt``
  (:func:`asvspoof2019_asv_path`, :func:`read_asv_scores`).
- ``asvspoof2021-la`` / ``asvspoof2021-df``: ``ROOT/keys/{LA,DF}/CM/trial_metadata.txt`` with lines
  ``LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval ...``; audio
  ``ROOT/ASVspoof2021_{LA,DF}_eval/flac/<utt>.flac``. ``split`` filters the subset column
  (progress, eval, hidden_track); the codec column is kept as :attr:`CorpusItem.codec`.
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
file is reported by name and skipped. A file listed twice is counted once (``warn`` is told);
a file listed as both bona fide and spoof is an error naming both lines. ``--split`` is refused
for layouts without splits (folder, in-the-wild, wavefake); :func:`scored_split` says which
split a run actually scores.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.asv_trials import AsvScores
from guard.detect.data import (
    LabeledFile,
    Warn,
    audio_files,
    dedupe,
    normalise_label,
    read_csv,
    read_table_text,
)
from guard.errors import DatasetError, DetectError

Item = LabeledFile
Loader = Callable[..., list[Item]]

SPLITS: dict[str, tuple[str, ...]] = {
    "asvspoof2019": ("train", "dev", "eval"),
    "asvspoof2021-la": ("progress", "eval", "hidden_track"),
    "asvspoof2021-df": ("progress", "eval", "hidden_track"),
    "asvspoof5": ("train", "dev", "eval"),
    "in-the-wild": (),
    "wavefake": (),
    "folder": (),
    "csv": (),  # whatever the CSV's split column holds
    "selfplay": ("train", "dev", "test"),
}
DEFAULT_SPLITS = {"asvspoof2019": "eval", "asvspoof5": "eval", "selfplay": "test"}
NO_SPLITS = ("in-the-wild", "wavefake", "folder")


def scored_split(name: str, split: str | None) -> str:
    """The split a run of loader ``name`` scores: ``split``, else the loader's default, else ``"all"``."""
    return split or DEFAULT_SPLITS.get(name, "all")


def _no_split(name: str, split: str | None) -> None:
    if split:
        raise DatasetError(f"the {name} layout has no splits; drop --split (given {split!r})")


def _check_split(name: str, split: str) -> None:
    if split not in SPLITS[name]:
        raise DatasetError(f"{name} split must be one of {', '.join(SPLITS[name])}; given {split!r}")


def _unique(entries: list[tuple[str, Item]], warn: Warn | None) -> list[Item]:
    try:
        return dedupe(entries, warn=warn)
    except DetectError as exc:
        raise DatasetError(str(exc)) from None


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise DatasetError(f"{path}: not found; {what}")
    return path


def _label(raw: str, where: str) -> str:
    try:
        return normalise_label(raw, where=where)
    except DetectError as exc:
        raise DatasetError(str(exc)) from None


def _text(path: Path) -> str:
    try:
        return read_table_text(path)
    except DetectError as exc:
        raise DatasetError(str(exc)) from None


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    return [(i, line.split()) for i, line in enumerate(_text(path).splitlines(), start=1) if line.strip()]


@dataclass(frozen=True)
class CorpusItem(LabeledFile):
    """A corpus file whose protocol also names the codec its audio went through (ASVspoof 2021)."""

    codec: str = "-"


def codec_of(item: LabeledFile) -> str | None:
    """The codec the corpus's protocol names for ``item``; None when its layout has no codec column."""
    return item.codec if isinstance(item, CorpusItem) else None


_ASV19_PROTOCOLS = {"train": "train.trn", "dev": "dev.trl", "eval": "eval.trl"}
_ASV19_CM = "ASVspoof2019_LA_cm_protocols"
_ASV19_ASV_SPLITS = ("dev", "eval")  # the organizers give ASV scores for these only
ASV_KEYS = ("target", "nontarget", "spoof")


def asvspoof2019_base(root: Path) -> Path:
    """The folder holding ``ASVspoof2019_LA_cm_protocols/``: ``root`` itself or ``root/LA``.

    Raises
    ------
    DatasetError
        Neither holds it.
    """
    for base in (root, root / "LA"):
        if (base / _ASV19_CM).is_dir():
            return base
    raise DatasetError(f"{root / _ASV19_CM}: not found, nor {root / 'LA' / _ASV19_CM}; expected the ASVspoof 2019 LA "
                       f"layout (LA/{_ASV19_CM}/, the LA/ level may be omitted)")


def asvspoof2019(root: Path, split: str | None = None, *, warn: Warn | None = None) -> list[Item]:
    """ASVspoof 2019 LA (``split`` train, dev or eval; default eval); ``root`` with or without the ``LA/`` level."""
    split = split or "eval"
    _check_split("asvspoof2019", split)
    base = asvspoof2019_base(root)
    proto = _need(base / _ASV19_CM / f"ASVspoof2019.LA.cm.{_ASV19_PROTOCOLS[split]}.txt",
                  f"expected the ASVspoof 2019 LA layout ({_ASV19_CM}/)")
    audio = base / f"ASVspoof2019_LA_{split}" / "flac"
    items = []
    for i, f in _lines(proto):
        if len(f) < 5:
            raise DatasetError(f"{proto} line {i}: expected 5 fields 'SPEAKER UTT - ATTACK LABEL', given {' '.join(f)!r}")
        items.append((f"{proto} line {i}", Item(audio / f"{f[1]}.flac", _label(f[4], f"{proto} line {i}"), split, f[0], f[3])))
    return _unique(items, warn)


def asvspoof2019_asv_path(root: Path, split: str) -> Path | None:
    """Where the organizers' ASV scores of ``split`` lie (None for train, which has none)."""
    if split not in _ASV19_ASV_SPLITS:
        return None
    return asvspoof2019_base(root) / "ASVspoof2019_LA_asv_scores" / f"ASVspoof2019.LA.asv.{split}.gi.trl.scores.txt"


def _asv_trial(fields: list[str], where: str) -> tuple[str, float]:
    """One ``SOURCE KEY SCORE`` line of an ASV score file as (key, score)."""
    if len(fields) != 3:
        raise DatasetError(f"{where}: expected 3 fields 'SOURCE KEY SCORE', given {' '.join(fields)!r}")
    _, key, raw = fields
    if key not in ASV_KEYS:
        raise DatasetError(f"{where}: key {key!r} is none of {', '.join(ASV_KEYS)}")
    try:
        score = float(raw)
    except ValueError:
        score = math.nan
    if not math.isfinite(score):
        raise DatasetError(f"{where}: score {raw!r} is not a finite number")
    return key, score


def read_asv_scores(path: Path) -> AsvScores:
    """Trials of an ASVspoof 2019 ASV score file: ``SOURCE KEY SCORE`` lines, KEY target, nontarget or spoof.

    Parameters
    ----------
    path : Path
        E.g. ``ASVspoof2019.LA.asv.eval.gi.trl.scores.txt``; SOURCE is the trial's source (the
        attack id, such as ``A07``, on spoof trials) and is not used; scores are higher for the
        same speaker.

    Returns
    -------
    AsvScores
        The scores by key. ``n_speakers`` is 0: the file does not name the enrolled speakers.

    Raises
    ------
    DatasetError
        Unreadable or non-UTF-8 file, a malformed line (named), or a key with no trial.
    """
    trials = [_asv_trial(f, f"{path} line {i}") for i, f in _lines(path)]
    by_key = {key: [score for k, score in trials if k == key] for key in ASV_KEYS}
    empty = [key for key, scores in by_key.items() if not scores]
    if empty:
        raise DatasetError(f"{path}: holds no {empty[0]} trials; min t-DCF needs target, nontarget and spoof trials")
    return AsvScores(*(np.asarray(by_key[key], dtype=np.float64) for key in ASV_KEYS), n_speakers=0)


def _asvspoof2021(track: str) -> Loader:
    def loader(root: Path, split: str | None = None, *, warn: Warn | None = None) -> list[Item]:
        if split:
            _check_split(f"asvspoof2021-{track.lower()}", split)
        meta = _need(root / "keys" / track / "CM" / "trial_metadata.txt",
                     f"expected the ASVspoof 2021 {track} keys (keys/{track}/CM/trial_metadata.txt)")
        audio = root / f"ASVspoof2021_{track}_eval" / "flac"
        items = []
        for i, f in _lines(meta):
            if len(f) < 8:
                raise DatasetError(f"{meta} line {i}: expected at least 8 fields, given {' '.join(f)!r}")
            item = CorpusItem(audio / f"{f[1]}.flac", _label(f[5], f"{meta} line {i}"), f[7], f[0], f[4], codec=f[2])
            items.append((f"{meta} line {i}", item))
        return [it for it in _unique(items, warn) if not split or it.split == split]

    loader.__doc__ = (f"ASVspoof 2021 {track} (``split`` filters the subset column: progress, eval, hidden_track); "
                      "items are :class:`CorpusItem` with the codec column.")
    return loader


_ASV5_PROTOCOLS = {"train": ("ASVspoof5.train.tsv", "flac_T"), "dev": ("ASVspoof5.dev.track_1.tsv", "flac_D"),
                   "eval": ("ASVspoof5.eval.track_1.tsv", "flac_E_eval")}


def asvspoof5(root: Path, split: str | None = None, *, warn: Warn | None = None) -> list[Item]:
    """ASVspoof 5 track 1 (``split`` train, dev or eval; default eval)."""
    split = split or "eval"
    _check_split("asvspoof5", split)
    name, folder = _ASV5_PROTOCOLS[split]
    proto = _need(root / "ASVspoof5_protocols" / name, "expected the ASVspoof 5 layout (ASVspoof5_protocols/)")
    items = []
    for i, f in _lines(proto):
        if len(f) < 9:
            raise DatasetError(f"{proto} line {i}: expected at least 9 fields, given {' '.join(f)!r}")
        label = _label(f[8], f"{proto} line {i}")
        items.append((f"{proto} line {i}", Item(root / folder / f"{f[1]}.flac", label, split, f[0], "-" if label == "bonafide" else f[7])))
    return _unique(items, warn)


def in_the_wild(root: Path, split: str | None = None, *, warn: Warn | None = None) -> list[Item]:
    """In-the-Wild (``meta.csv``: file,speaker,label, UTF-8); it has no splits."""
    _no_split("in-the-wild", split)
    meta = _need(root / "meta.csv", "expected In-the-Wild's meta.csv")
    reader = csv.DictReader(io.StringIO(_text(meta), newline=""))
    if not {"file", "speaker", "label"} <= set(reader.fieldnames or []):
        raise DatasetError(f"{meta}: header must hold file,speaker,label, given {reader.fieldnames}")
    items = []
    for row in reader:
        where = f"{meta} line {reader.line_num}"
        name = (row["file"] or "").strip()
        if row["label"] is None or not name:
            given = ",".join(v for v in (row["file"], row["speaker"]) if v is not None)
            raise DatasetError(f"{where}: expected file,speaker,label, given {given!r}")
        label = _label(row["label"], where)
        items.append((where, Item(root / name, label, "eval", (row["speaker"] or "-").strip() or "-",
                                  "-" if label == "bonafide" else "in-the-wild")))
    return _unique(items, warn)


_WAVEFAKE_REAL = (("LJSpeech-1.1/wavs", "ljspeech"), ("jsut_ver1.1/basic5000/wav", "jsut"))


def wavefake(root: Path, split: str | None = None, *, warn: Warn | None = None) -> list[Item]:
    """WaveFake: generated_audio/<vocoder>/ as spoof, LJSpeech/JSUT as bona fide when present; no splits."""
    _no_split("wavefake", split)
    gen = _need(root / "generated_audio", "expected WaveFake's generated_audio/ folder")
    items = []
    for sub in sorted(p for p in gen.iterdir() if p.is_dir()):
        speaker = "jsut" if sub.name.startswith("jsut") else "ljspeech"
        items += [Item(p, "spoof", "eval", speaker, sub.name) for p in audio_files(sub, warn=warn)]
    for rel, speaker in _WAVEFAKE_REAL:
        real = root / rel
        if real.is_dir():
            items += [Item(p, "bonafide", "eval", speaker, "-") for p in audio_files(real, warn=warn)]
    if not any(it.label == "bonafide" for it in items):
        raise DatasetError(f"{root}: no real speech; put LJSpeech-1.1/ (or jsut_ver1.1/) beside generated_audio/")
    return items


def folder(root: Path, split: str | None = None, *, warn: Warn | None = None) -> list[Item]:
    """A plain folder: ROOT/bonafide/** and ROOT/spoof/** (attack = first folder under spoof/); no splits.

    Broken links are kept, so that decoding reports them by name.
    """
    _no_split("folder", split)
    items = []
    for label in ("bonafide", "spoof"):
        sub = _need(root / label, "a dataset folder needs bonafide/ and spoof/ subfolders")
        for p in audio_files(sub, warn=warn):
            rel = p.relative_to(sub).parts
            attack = "-" if label == "bonafide" else (rel[0] if len(rel) > 1 else "spoof")
            items.append(Item(p, label, "", "-", attack))
    return items


def _csv_rows(path: Path, warn: Warn | None) -> list[Item]:
    try:
        return read_csv(path, warn=warn)
    except DetectError as exc:
        raise DatasetError(str(exc)) from None


def csv_table(root: Path, split: str | None = None, *, warn: Warn | None = None) -> list[Item]:
    """A CSV of file,label[,speaker,attack,split]; ``root`` is the file or a folder with labels.csv.

    ``split`` keeps the rows whose split column holds it; one the file never names is an error
    listing those it does.
    """
    path = root / "labels.csv" if root.is_dir() else root
    _need(path, "give a CSV file (file,label) or a folder holding labels.csv")
    items = _csv_rows(path, warn)
    if split:
        present = sorted({it.split for it in items if it.split})
        if split not in present:
            has = f"its splits are {', '.join(present)}" if present else "it has no split column; drop --split"
            raise DatasetError(f"{path}: no rows of split {split!r}; {has}")
    return [it for it in items if not split or it.split == split]


def selfplay(root: Path, split: str | None = None, *, warn: Warn | None = None) -> list[Item]:
    """The self-play corpus (``ROOT/manifest.csv``); split train, dev or test (default test)."""
    split = split or "test"
    _check_split("selfplay", split)
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise DatasetError(f"{manifest}: not found; build the corpus with `python -m eval.selfplay -o {root}`")
    return [it for it in _csv_rows(manifest, warn) if it.split == split]


LOADERS: dict[str, Loader] = {
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


def load_dataset(name: str, root: str | os.PathLike[str], split: str | None = None, *,
                 warn: Warn | None = None) -> list[Item]:
    """Items of corpus ``name`` under ``root``.

    Parameters
    ----------
    name : str
        One of :data:`LOADERS`.
    root : path-like
        The corpus folder (or, for ``csv``, the CSV file).
    split : str, optional
        A split or subset the corpus defines (:data:`SPLITS`); each loader documents its
        default. Refused for layouts without splits (:data:`NO_SPLITS`).
    warn : callable, optional
        Told about files listed twice (default: a line on stderr).

    Raises
    ------
    DatasetError
        Unknown name, missing root, wrong layout, a split the layout lacks, a malformed or
        non-UTF-8 protocol line, or a file labelled both bona fide and spoof.
    """
    if name not in LOADERS:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(LOADERS)}")
    r = Path(root)
    if not r.exists():
        raise DatasetError(f"{r}: dataset root not found")
    items = LOADERS[name](r, split, warn=warn)
    if not items:
        raise DatasetError(f"{r}: dataset {name!r} (split {scored_split(name, split)}) holds no files")
    return items
