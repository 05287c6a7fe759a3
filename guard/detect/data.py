"""Training data specs for ``detect train --data SPEC``: a CSV manifest or a labelled folder.

guard/ knows nothing of benchmark corpora; the self-play builder and the public-corpus
loaders in eval/ write or read the same two layouts:

- a CSV with a header holding at least ``file,label`` (``label`` is ``bonafide`` or
  ``spoof``; ``bona-fide`` is accepted), optionally ``split`` (train/dev/test), ``speaker``,
  ``attack``; relative ``file`` paths are relative to the CSV's folder;
- a folder with ``bonafide/`` and ``spoof/`` subfolders of audio files (searched recursively).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from guard.audio import is_audio_path
from guard.errors import DetectError

LABELS = ("bonafide", "spoof")
_ALIASES = {"bonafide": "bonafide", "bona-fide": "bonafide", "bona_fide": "bonafide", "genuine": "bonafide",
            "real": "bonafide", "spoof": "spoof", "fake": "spoof"}


@dataclass(frozen=True)
class LabeledFile:
    """One file of a training or evaluation set."""

    path: Path
    label: str  # "bonafide" or "spoof"
    split: str = ""  # "train", "dev", "test" or "" when the spec does not say
    speaker: str = "-"
    attack: str = "-"

    @property
    def is_spoof(self) -> bool:
        return self.label == "spoof"


def normalise_label(raw: str, *, where: str) -> str:
    """Map the label spellings of public corpora to ``bonafide``/``spoof``."""
    label = _ALIASES.get(raw.strip().lower())
    if label is None:
        raise DetectError(f"{where}: label {raw!r} is neither bonafide nor spoof")
    return label


def read_csv(path: Path) -> list[LabeledFile]:
    """Rows of a ``file,label[,split,speaker,attack]`` CSV."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "label"} - set(reader.fieldnames or [])
        if missing:
            raise DetectError(f"{path}: CSV header lacks {sorted(missing)}; it needs at least file,label")
        items = []
        for i, row in enumerate(reader, start=2):
            f = Path(row["file"])
            items.append(LabeledFile(f if f.is_absolute() else path.parent / f,
                                     normalise_label(row["label"] or "", where=f"{path} line {i}"),
                                     (row.get("split") or "").strip(), (row.get("speaker") or "-").strip(),
                                     (row.get("attack") or "-").strip()))
    return items


def read_folder(root: Path) -> list[LabeledFile]:
    """Audio under ``root/bonafide/`` and ``root/spoof/``."""
    items = []
    for label in LABELS:
        sub = root / label
        if not sub.is_dir():
            raise DetectError(f"{root}: no {label}/ subfolder; a data folder needs bonafide/ and spoof/")
        items += [LabeledFile(p, label) for p in sorted(sub.rglob("*")) if p.is_file() and is_audio_path(p)]
    return items


def read_spec(spec: str | os.PathLike[str]) -> list[LabeledFile]:
    """Read a data spec (CSV manifest or labelled folder).

    Raises
    ------
    DetectError
        Missing path, wrong layout, bad label, or no files of one class.
    """
    p = Path(spec)
    if p.is_dir():
        items = read_folder(p)
    elif p.is_file() and p.suffix.lower() in (".csv", ".tsv"):
        items = read_csv(p)
    elif p.exists():
        raise DetectError(f"{p}: a data spec is a .csv manifest or a folder with bonafide/ and spoof/")
    else:
        raise DetectError(f"{p}: data spec not found")
    counts = {label: sum(1 for it in items if it.label == label) for label in LABELS}
    if min(counts.values()) == 0:
        raise DetectError(f"{p}: needs files of both classes, found {counts}")
    return items
