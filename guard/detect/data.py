"""Training data specs for ``detect train --data SPEC``: a CSV manifest or a labelled folder.

guard/ knows nothing of benchmark corpora; the self-play builder and the public-corpus
loaders in eval/ write or read the same two layouts:

- a CSV with a header holding at least ``file,label`` (``label`` is ``bonafide`` or
  ``spoof``; ``bona-fide`` is accepted), optionally ``split`` (train/dev/test), ``speaker``,
  ``attack``; relative ``file`` paths are relative to the CSV's folder. It is UTF-8 (a BOM,
  as Excel writes, is fine); a ``.tsv`` file is tab separated. A file listed twice with one
  label is counted once (with a warning); a file listed with both labels is an error;
- a folder with ``bonafide/`` and ``spoof/`` subfolders of audio files (searched recursively,
  links to folders followed, each folder once; a broken link is kept, so that loading reports
  it by name, and a folder that cannot be read is named to ``warn``).

:func:`split_items` then divides the files into the train and dev splits that training uses.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guard.audio import is_audio_path
from guard.errors import DetectError
from guard.walk import files_under, warn_stderr

Warn = Callable[[str], None]

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


def read_table_text(path: Path) -> str:
    """The text of a CSV/TSV/protocol file, decoded as UTF-8 (a leading BOM is dropped).

    Raises
    ------
    DetectError
        The file cannot be read, or is not UTF-8 (the message names the first bad line).
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DetectError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DetectError(f"{path} line {line}: not UTF-8 text; save it as UTF-8") from None


def dedupe(entries: list[tuple[str, LabeledFile]], *, warn: Warn | None = None) -> list[LabeledFile]:
    """Drop repeated files from ``(where, item)`` pairs, ``where`` naming the source line.

    A file listed again with the same label and split is kept once and ``warn`` is told
    (default: a line on stderr), as it is of a file listed in two splits (kept in both); a
    file listed with both labels cannot be scored.

    Raises
    ------
    DetectError
        One file carries both labels (the message names both lines).
    """
    warn = warn or warn_stderr
    first: dict[str, tuple[str, LabeledFile]] = {}
    seen: set[tuple[str, str]] = set()
    out = []
    for where, item in entries:
        key = os.path.normpath(item.path)
        if key in first and first[key][1].label != item.label:
            w0, it0 = first[key]
            raise DetectError(f"{item.path} is labelled {it0.label} at {w0} and {item.label} at {where}; "
                              "keep one of the two lines")
        first.setdefault(key, (where, item))
        if (key, item.split) in seen:
            warn(f"{where}: {item.path} is listed again (first at {first[key][0]}); counted once")
            continue
        if first[key][1].split != item.split:
            warn(f"{where}: {item.path} is in split {item.split or '(none)'} and, at {first[key][0]}, in split "
                 f"{first[key][1].split or '(none)'}: one recording in two splits leaks between them")
        seen.add((key, item.split))
        out.append(item)
    return out


def read_csv(path: Path, *, warn: Warn | None = None) -> list[LabeledFile]:
    """Rows of a ``file,label[,split,speaker,attack]`` CSV (tab separated when named ``.tsv``).

    Parameters
    ----------
    path : Path
        The manifest; relative ``file`` paths are relative to its folder.
    warn : callable, optional
        Told about repeated rows (default: a line on stderr).

    Raises
    ------
    DetectError
        Unreadable or non-UTF-8 file, header without file,label, an empty ``file`` cell,
        a bad label, or one file listed with both labels.
    """
    path = Path(path)
    text = read_table_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    kind = "TSV" if path.suffix.lower() == ".tsv" else "CSV"
    fields = [(f or "").strip() for f in reader.fieldnames or []]
    reader.fieldnames = fields
    missing = {"file", "label"} - set(fields)
    if missing:
        raise DetectError(f"{path}: {kind} header lacks {sorted(missing)}; it needs at least file,label")
    entries = []
    for row in reader:
        where = f"{path} line {reader.line_num}"
        name = (row.get("file") or "").strip()
        if not name:
            raise DetectError(f"{where}: the file cell is empty; give the audio file's path")
        if row.get("label") is None:
            raise DetectError(f"{where}: expected file,label, given {name!r} alone")
        f = Path(name)
        entries.append((where, LabeledFile(f if f.is_absolute() else path.parent / f,
                                           normalise_label(row["label"], where=where),
                                           (row.get("split") or "").strip(), (row.get("speaker") or "-").strip() or "-",
                                           (row.get("attack") or "-").strip() or "-")))
    return dedupe(entries, warn=warn)


def audio_files(folder: Path, *, warn: Warn | None = None) -> list[Path]:
    """Audio files under ``folder`` (recursive, sorted), broken links included so that loading names them.

    Links to folders are followed, each folder once (:func:`guard.walk.walk`); a folder that
    cannot be read, and a link loop or second link to a folder, is told to ``warn`` (default:
    a line on stderr).
    """
    return [p for p in files_under(folder, warn=warn)
            if is_audio_path(p) and (p.is_file() or (p.is_symlink() and not p.exists()))]


def read_folder(root: Path, *, warn: Warn | None = None) -> list[LabeledFile]:
    """Audio under ``root/bonafide/`` and ``root/spoof/``; ``warn`` is told of folders left out (see :func:`audio_files`)."""
    items = []
    for label in LABELS:
        sub = root / label
        if not sub.is_dir():
            raise DetectError(f"{root}: no {label}/ subfolder; a data folder needs bonafide/ and spoof/")
        items += [LabeledFile(p, label) for p in audio_files(sub, warn=warn)]
    return items


def read_spec(spec: str | os.PathLike[str], *, warn: Warn | None = None) -> list[LabeledFile]:
    """Read a data spec (CSV/TSV manifest or labelled folder).

    Parameters
    ----------
    spec : path-like
        A ``.csv``/``.tsv`` manifest or a folder with ``bonafide/`` and ``spoof/``.
    warn : callable, optional
        Told about repeated manifest rows, and folders a labelled folder's walk leaves out
        (default: a line on stderr).

    Raises
    ------
    DetectError
        Missing path, wrong layout, unreadable or malformed manifest, bad label, a file
        with both labels, or no files of one class.
    """
    p = Path(spec)
    if p.is_dir():
        items = read_folder(p, warn=warn)
    elif p.is_file() and p.suffix.lower() in (".csv", ".tsv"):
        items = read_csv(p, warn=warn)
    elif p.exists():
        raise DetectError(f"{p}: a data spec is a .csv manifest or a folder with bonafide/ and spoof/")
    else:
        raise DetectError(f"{p}: data spec not found")
    counts = {label: sum(1 for it in items if it.label == label) for label in LABELS}
    if min(counts.values()) == 0:
        raise DetectError(f"{p}: needs files of both classes, found {counts}")
    return items


SPLITS = ("train", "dev")
_SPOKEN = {"bonafide": "bona fide", "spoof": "spoof"}


def missing_labels(items: list[LabeledFile]) -> list[str]:
    """The labels of :data:`LABELS` that no item in ``items`` carries (``[]`` when both are there)."""
    present = {it.label for it in items}
    return [label for label in LABELS if label not in present]


def no_files_text(missing: list[str]) -> str:
    """``["bonafide", "spoof"]`` -> ``"no bona fide and no spoof files"``, for messages."""
    return "no " + " and no ".join(_SPOKEN[label] for label in missing) + " files"


def split_items(items: list[LabeledFile], *, dev_fraction: float, rng: np.random.Generator,
                source: str | os.PathLike[str] | None = None) -> tuple[list[LabeledFile], list[LabeledFile]]:
    """Train and dev items: by the ``split`` column when any item has one, else a seeded random draw.

    Parameters
    ----------
    items : list of LabeledFile
        As :func:`read_spec` returns them; items of other splits (``test``) are left out.
    dev_fraction : float in (0, 1)
        Share of the items drawn for dev when no item has a split.
    rng : np.random.Generator
        Draws the random split (one ``random`` call per item); untouched when the items have splits.
    source : path-like, optional
        The data spec (CSV or folder) the items came from, named in errors.

    Raises
    ------
    DetectError
        A split without files of both classes: one line naming ``source`` and the fix.
    """
    if any(it.split for it in items):
        parts = tuple([it for it in items if it.split == name] for name in SPLITS)
    else:
        mask = rng.random(len(items)) < dev_fraction
        parts = ([it for it, m in zip(items, mask) if not m], [it for it, m in zip(items, mask) if m])
    for name, part in zip(SPLITS, parts):
        missing = missing_labels(part)
        if missing:
            raise DetectError(_split_error(name, part, missing, items=items, dev_fraction=dev_fraction, source=source))
    return parts[0], parts[1]


def _split_error(name: str, part: list[LabeledFile], missing: list[str], *, items: list[LabeledFile],
                 dev_fraction: float, source: str | os.PathLike[str] | None) -> str:
    """The one-line message for a split that lacks the ``missing`` labels: where, what, and the fix."""
    where = os.fspath(source) if source is not None else "training data"
    if any(it.split for it in items):
        what = f"no rows with split={name}" if not part else f"the split={name} rows hold {no_files_text(missing)}"
        rows = " and some ".join(missing)
        return (f"{where}: {what}; mark some {rows} rows split={name}, or drop the split column to draw "
                f"{dev_fraction:.0%} of the files for dev at random")
    return (f"{where}: the random split ({dev_fraction:.0%} of {len(items)} files drawn for dev with the seed) left the "
            f"{name} split with {no_files_text(missing)}; add files of both classes, or list them in a CSV manifest with a "
            "split column (file,label,split) to choose the dev files")
