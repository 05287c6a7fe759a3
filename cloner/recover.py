"""Finish what an interrupted ``voiceguard clone`` left: a recorded clip still in its staging folder.

:func:`cloner.pipeline.clone` builds a clip in a locked hidden folder beside its final name
and renames it there after its record is in the ledger. A process killed between the two
leaves the recorded clip behind (and the audit counts its file wrong); :func:`recover` moves
it into place, and removes the folders a killed process left before any record was written.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cloner.output import STAGING_NAME, WRITABLE_EXTENSIONS, lock, place, sidecar_path
from guard.digest import sha256_file
from guard.errors import CloneError
from guard.home import Home

if TYPE_CHECKING:
    from guard.provenance import ProvenanceRecord


@dataclass(frozen=True)
class Recovery:
    """A clip an interrupted clone left in a staging folder: placed now, or still waiting there.

    ``staged`` is None when the clip is at ``file`` now; else where it still is and ``reason`` why.
    ``record_id`` is None for a clip no record of this home names (never placed or removed).
    """

    file: str
    record_id: str | None
    staged: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


_UNRECORDED = ("it carries no mark of this home's keys, so it is another home's clone (or not a clone): left in "
               "place; remove it if nobody needs it")


def _marked_here(clip: Path, home: Home) -> bool:
    """Whether ``clip`` carries a mark of one of ``home``'s own keys (a file that cannot be read counts as not)."""
    from guard.audio import load
    from guard.errors import GuardError
    from guard.watermark import verify

    try:
        return verify(load(clip, sample_rate=16000), sample_rate=16000, keys=home.watermark_keys()).detected
    except GuardError:
        return False


def recover(folder: Path, *, home: Home) -> list[Recovery]:
    """Finish the renames that interrupted clones left undone in ``folder``; remove their empty leftovers.

    A staging folder whose lock no process holds is one a killed clone left. When its clip's
    SHA-256 is that of a ``clip.generated`` record for a file in ``folder``, the clip (and its
    sidecar manifest) is renamed to that file, provided the name is free or holds only the
    empty file the clone reserved; otherwise it is left where it is and reported. A clip no
    record of this home names is removed only when it carries this home's mark (its clone was
    stopped before its record was written: a complete clone with a manifest naming a record
    that does not exist); one without it may be another home's recorded clip (a clone into
    the same folder with another ``--home``), so it is reported (``record_id`` None) and left
    for people to judge. Empty folders are removed. Staging folders of clones still at work
    are not touched.

    Parameters
    ----------
    folder : Path
        The folder clips are written to.
    home : Home
        The data home whose ledger recorded the clips.

    Returns
    -------
    list of Recovery
        One per clip found, placed or not; empty when there was nothing to do.

    Raises
    ------
    LedgerError
        The ledger cannot be read (only when a leftover clip needs its records).
    """
    folder = Path(folder)
    try:
        candidates = sorted(p for p in folder.iterdir()
                            if STAGING_NAME.fullmatch(p.name) and p.is_dir() and not p.is_symlink())
    except OSError:  # no such folder, or not readable: nothing of ours can be there
        return []
    records: dict[str, ProvenanceRecord] | None = None
    found = []
    for staging in candidates:
        try:
            fd = lock(staging, wait=False)
        except OSError:  # cannot even open its lock (a read-only folder): nothing here can be fixed either
            fd = None
        if fd is None:
            continue  # a clone at work holds it
        try:
            clips = [p for p in staging.iterdir() if p.suffix.lower() in WRITABLE_EXTENSIONS and p.is_file()
                     and not p.name.startswith(".")]
            if len(clips) > 1:
                continue  # not a shape a clone leaves: not ours to touch
            if clips:
                records = _clip_records(home) if records is None else records
                record = records.get(sha256_file(clips[0]))
                if record is not None:
                    found.append(_finish(staging, clips[0], folder / clips[0].name, record))
                    continue
                if not _marked_here(clips[0], home):  # another home's (or no) mark: not ours to judge
                    found.append(Recovery(str(folder / clips[0].name), None, str(clips[0]), _UNRECORDED))
                    continue
            # empty, or a clip of this home's key whose clone stopped before its record: nothing refers to it
            shutil.rmtree(staging, ignore_errors=True)
        finally:
            os.close(fd)
    return found


def _clip_records(home: Home) -> dict[str, ProvenanceRecord]:
    """SHA-256 of each recorded clip -> its record, from the verified ledger."""
    from guard.ledger import Ledger
    from guard.provenance import ProvenanceRecord

    with Ledger(home) as led:
        return {r.audio_sha256: r for r in map(ProvenanceRecord.from_dict, (e.body for e in
                                                                           led.verified_events("clip.generated")))}


def _finish(staging: Path, clip: Path, out: Path, record: ProvenanceRecord) -> Recovery:
    """Place ``clip`` (and its sidecar) at ``out`` when ``record`` names ``out`` and the names are free."""
    moves = [(src, dst) for src, dst in ((sidecar_path(clip), sidecar_path(out)), (clip, out)) if src.exists()]
    reason = None
    if record.audio_path != str(out.resolve()):
        reason = f"its record names {record.audio_path}, not {out}"
    else:
        taken = [dst for src, dst in moves if not _free_for(src, dst)]
        if taken:
            reason = f"{taken[0]} holds another file"
    if reason is not None:
        return Recovery(str(out), record.record_id, str(clip), f"{reason}; move it there by hand if it belongs there")
    try:
        for src, dst in moves:
            if dst.is_file() and dst.stat().st_size and sha256_file(dst) == sha256_file(src):
                src.unlink()  # placed already: the process was killed before it removed its copy
            else:
                place(src, dst, overwrite=dst.exists())
    except (CloneError, OSError) as exc:  # a file appeared meanwhile, or the folder is not writable
        return Recovery(str(out), record.record_id, str(clip), f"it cannot be moved there ({exc}); move it by hand")
    shutil.rmtree(staging, ignore_errors=True)
    return Recovery(str(out), record.record_id)


def _free_for(src: Path, dst: Path) -> bool:
    """Whether ``src`` may go to ``dst``: nothing there, the empty file a clone reserved, or the same bytes."""
    if dst.is_symlink() or (dst.exists() and not dst.is_file()):
        return False
    if not dst.exists() or dst.stat().st_size == 0:
        return True
    return sha256_file(dst) == sha256_file(src)
