"""What the audit reads: a home's database or an exported bundle, as stored, and how bundles are written.

Rows are passed on with whatever types they hold; the audit checks every value. Only what
makes any check impossible (no ledger, an unreadable file, no usable public key) is an error here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from guard.errors import LedgerError
from guard.home import Home
from guard.ledger.heads import (
    HEAD_FIELDS,
    TreeHead,
    checkpoint_path,
    load_head_file,
    read_checkpoint,
)
from guard.ledger.rows import column_problems, damaged, describe, head_problem, public_key_problem
from guard.ledger.store import read_raw

BUNDLE_FILES = ("events.jsonl", "tree_heads.jsonl", "public_key.txt")
EVENT_KEYS = ("seq", "kind", "time", "canonical", "leaf_hash")


@dataclass(frozen=True)
class LogData:
    """Everything the audit reads, as stored: from a database or from a bundle.

    ``frontier`` is the database's stored tree state (None when its row is missing); it is
    checked only when ``has_frontier``. ``checkpoint_problem`` says why the checkpoint at
    ``checkpoint_name`` could not be read; ``checkpoint`` is None when it is missing.
    """

    events: Sequence[tuple]  # (seq, kind, time, canonical, leaf_hash)
    heads: Sequence[tuple]  # (tree_size, root_hash, timestamp, key_id, signature)
    public_key: str  # hex, a usable Ed25519 key
    frontier: object = None
    checkpoint: TreeHead | None = None
    files_root: bool = True  # check stored hashes against files that exist
    home: Home | None = None  # the home audited: its own statement and model files are checked
    has_frontier: bool = False
    checkpoint_name: str = "checkpoint"
    checkpoint_problem: str | None = None
    is_bundle: bool = False


def read_home(home: Home) -> tuple[LogData, object]:
    """The stored log of ``home`` and its stored public key (any value; the caller checks it).

    ``LogData.public_key`` is the stored key when it is usable, else ``""``.
    """
    events, heads, meta = read_raw(home)
    stored_key = meta.get("public_key")
    try:
        checkpoint, problem = read_checkpoint(home), None
    except LedgerError as exc:
        checkpoint, problem = None, str(exc)
    usable = "" if public_key_problem(stored_key) else str(stored_key)
    data = LogData(events, heads, usable, meta.get("frontier"), checkpoint, has_frontier=True,
                   checkpoint_name=str(checkpoint_path(home)), checkpoint_problem=problem, home=home)
    return data, stored_key


def check_export_folder(home: Home, out: Path, *, overwrite: bool = False) -> Path:
    """``out`` if a bundle may be written there: outside the data home, and new or empty unless ``overwrite``.

    An earlier bundle's ``checkpoint.json`` is what ``--checkpoint`` holds a later audit to, so
    it is never replaced unasked; and a bundle inside the home would be overwritten or mixed with
    the files the audit checks.

    Raises
    ------
    LedgerError
        ``out`` is inside the data home, is not a folder, or already holds files (without ``overwrite``).
    """
    out = Path(out)
    target, root = out.resolve(), home.root.resolve()
    if target == root or root in target.parents:
        raise LedgerError(f"export folder {out} is inside the data home {home.root}; export the bundle to a folder "
                          f"outside it")
    if out.exists() and not out.is_dir():
        raise LedgerError(f"export folder {out} is a file; give a folder for the bundle")
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if held and not overwrite:
        shown = ", ".join(held[:4]) + (f" and {len(held) - 4} more" if len(held) > 4 else "")
        kind = "an earlier bundle" if "checkpoint.json" in held or "events.jsonl" in held else "files"
        raise LedgerError(f"export folder {out} already holds {kind} ({shown}); a bundle's checkpoint.json is what "
                          f"`voiceguard audit --checkpoint` checks later, so it is not replaced unasked: export to a "
                          f"new folder, or pass --force to replace the bundle's files there")
    return out


def export_bundle(home: Home, out: Path, *, overwrite: bool = False) -> list[Path]:
    """Write ``events.jsonl``, ``tree_heads.jsonl``, ``public_key.txt`` and ``checkpoint.json`` to ``out``.

    Parameters
    ----------
    out : Path
        A new or empty folder outside the home (:func:`check_export_folder`).
    overwrite : bool
        Write into a folder that already holds files, replacing the bundle's own files there.

    Raises
    ------
    LedgerError
        When ``out`` is refused (:func:`check_export_folder`), or a stored value cannot be written
        as JSON (the ledger is damaged).
    """
    out = check_export_folder(home, out, overwrite=overwrite)
    data, stored_key = read_home(home)
    path = home.ledger_path
    problem = public_key_problem(stored_key)
    if problem:
        raise damaged(path, problem)
    for row in data.events:
        found = column_problems(row)
        if found:
            raise damaged(path, f"event {describe(row[0])} cannot be exported: {found[0]}")
    for row in data.heads:
        found = head_problem(row)
        if found:
            raise damaged(path, f"tree head {describe(row[0])} cannot be exported: {found}")
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in BUNDLE_FILES]
    # names and speaker embeddings: for whoever it is handed to, not every user here, even part-written
    _write_private(paths[0], "".join(json.dumps(dict(zip(EVENT_KEYS, row)), ensure_ascii=False) + "\n"
                                     for row in data.events))
    _write_private(paths[1], "".join(json.dumps(dict(zip(HEAD_FIELDS, row))) + "\n" for row in data.heads))
    _write_private(paths[2], data.public_key + "\n")
    if data.checkpoint is not None:
        paths.append(out / "checkpoint.json")
        _write_private(paths[-1], json.dumps(data.checkpoint.to_dict()) + "\n")
    return paths


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``, readable by its owner only from the moment it exists (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fd, 0o600)  # a file replaced with --force keeps its old mode otherwise
        fh.write(text)


def _rows(path: Path, keys: tuple[str, ...]) -> list[tuple]:
    """The rows of a JSON-lines bundle file, each an object with ``keys`` (values unchecked)."""
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except FileNotFoundError:
        raise LedgerError(f"bundle file {path} is missing; a bundle holds {', '.join(BUNDLE_FILES)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"bundle file {path} cannot be read ({exc}); export the bundle again") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise LedgerError(f"bundle file {path} is not JSON lines: line {number}: {exc}") from None
        missing = [k for k in keys if k not in obj] if isinstance(obj, dict) else list(keys)
        if missing:
            raise LedgerError(f"bundle {path.parent} has a malformed row: line {number} of {path.name} "
                              f"lacks {', '.join(missing)}; export the bundle again")
        rows.append(tuple(obj[k] for k in keys))
    return rows


def read_bundle(folder: Path, *, check_files: bool = False) -> LogData:
    """The log stored in an exported bundle ``folder``.

    Raises
    ------
    LedgerError
        When the folder, a file or a row is missing or unreadable, or the public key is unusable.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LedgerError(f"bundle {folder} is not a folder; make one with `voiceguard audit --export DIR`")
    events = _rows(folder / "events.jsonl", EVENT_KEYS)
    heads = _rows(folder / "tree_heads.jsonl", HEAD_FIELDS)
    key_path = folder / "public_key.txt"
    try:
        public = key_path.read_bytes().decode("utf-8", "replace").strip()
    except FileNotFoundError:
        raise LedgerError(f"bundle {folder} has no public_key.txt") from None
    except OSError as exc:
        raise LedgerError(f"bundle file {key_path} cannot be read ({exc.strerror})") from None
    if public_key_problem(public):
        raise LedgerError(f"bundle file {key_path} is not an Ed25519 public key (64 hex digits); copy it again "
                          f"from the bundle that was exported")
    cp_path = folder / "checkpoint.json"
    checkpoint, problem = None, None
    if cp_path.exists():
        try:
            checkpoint = load_head_file(cp_path)
        except LedgerError as exc:
            problem = str(exc)
    return LogData(events, heads, public, None, checkpoint, files_root=check_files, checkpoint_name=str(cp_path),
                   checkpoint_problem=problem, is_bundle=True)
