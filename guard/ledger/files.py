"""The audit's checks of files on disk: the home's statements, models and recordings, and clips and marks.

A home's own files must be there (consent statements, voice models, kept enrollment
recordings) and the statements and models match their stored SHA-256: the log's meaning rests
on them. The kept recordings are re-encoded copies of what the event hashed, so only their
presence is checked. Clips and marked files
live outside the home, in their owners' hands: one changed is noted, one gone is counted and noted
(``clip-missing``, ``mark-missing``, naming the path the log recorded and the event).
Files in ``consents/`` that no consent names, and files of a voice whose deletion is logged,
are noted.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from guard.digest import sha256_file
from guard.home import Home
from guard.ledger.report import AuditReport

# The folder beside a voice model in a home's voices/<voice_id>/ that keeps the voice's enrollment
# recordings, one audio file (any extension) per recording the enrollment event names, by stem.
RECORDINGS_FOLDER = "recordings"
ERASE_FIX = "if it was erased on purpose, log that with `voiceguard voices delete {vid} --reason TEXT`"


def check_file(report: AuditReport, ident: str, path: object, digest: object, *, what: str | None,
                home: Home | None = None, fix: str = "", mark: bool = False) -> None:
    """Compare a file with its stored hash; ``what`` names a file that must exist (None: may have moved, which is
    counted in ``files_missing`` and noted by :func:`note_outside`).

    With ``home``, a stored path into a home's ``consents/`` or ``voices/`` is read in that home
    (:meth:`guard.home.Home.stored_file`): a moved or copied home checks its own files.
    ``mark``: the file of an ``audio.marked`` event (``what`` None), noted as ``mark-changed``.
    """
    if not path:
        return
    p = home.stored_file(str(path)) if home is not None else Path(str(path))
    if not p.is_file():
        if what is None:
            report.checked["files_missing"] += 1
            note_outside(report, ident, p, digest, mark=mark, missing=True)
        else:
            report.fail("missing-file", ident, f"{what} {p} is missing; restore it from a backup{fix}")
        return
    report.checked["files"] += 1
    try:
        actual = sha256_file(p)
    except OSError as exc:
        if what is None:
            report.note("mark-changed" if mark else "clip-changed", ident,
                        f"{p} cannot be read ({exc.strerror}), so it cannot be compared")
        else:
            report.fail("file-hash-mismatch", ident, f"{p} cannot be read ({exc.strerror})")
        return
    if actual != digest:
        if what is not None:  # a file of the home's own, which the log's meaning rests on
            report.fail("file-hash-mismatch", ident, f"{p} no longer matches the SHA-256 stored in the ledger")
            return
        # A clip lives outside the home, in its owner's hands: edited or replaced after it was
        # made, it no longer is the clip the record describes, but the log and its consents
        # are intact (as when a clip is deleted). Noted, not failed.
        note_outside(report, ident, p, digest, mark=mark, missing=False)

def note_outside(report: AuditReport, ident: str, path: Path, digest: object, *, mark: bool, missing: bool) -> None:
    """Note a clip or marked file the log names that is gone from ``path`` or no longer matches ``digest``.

    Kinds ``clip-missing``, ``clip-changed``, ``mark-missing``, ``mark-changed``; ``ident`` names
    the event (``"event 4 (clip.generated rec-...)"``). Such files live outside the home, in
    their owners' hands, so one moved, edited or deleted fails nothing. A copy that an
    interrupted embed (:func:`note_stranded_mark`) or clone (:func:`stranded_clip`) left is named.
    """
    if mark and note_stranded_mark(report, ident, path, digest, missing=missing):
        return
    kind = f"{'mark' if mark else 'clip'}-{'missing' if missing else 'changed'}"
    staged = None if mark else stranded_clip(path, digest)
    if staged is not None:
        state = "is missing: an interrupted clone left the recorded clip at" if missing else \
            "is not the recorded clip: an interrupted clone left that at"
        report.note(kind, ident, f"{path} {state} {staged}; the next `voiceguard clone` into {path.parent} moves it "
                                 f"into place (or move it by hand)")
        return
    state = "is missing" if missing else "no longer matches the SHA-256 stored in the ledger"
    what, made = ("the marked file", "marked") if mark else ("the clip", "generated")
    happened = "moved or deleted" if missing else "edited or replaced"
    intact = "the log is intact" if mark else "the log and its consents are intact"
    keep = "put it back there" if missing else ("" if mark else "keep edits under a new name")
    report.note(kind, ident, f"{path} {state}: {what} was {happened} after it was {made} ({intact}"
                             + (f"; {keep} to keep it checkable)" if keep else ")"))


def note_stranded_mark(report: AuditReport, ident: str, path: Path, digest: object, *, missing: bool) -> bool:
    """Note the copy of a marked file that an embed killed after logging it left beside ``path``; whether one was.

    ``voiceguard watermark embed`` writes ``.voiceguard-<hex>-<name>`` beside its OUT and
    renames it after the mark is logged.
    """
    staged = _stranded_copy(path, digest, f".voiceguard-*-{glob.escape(path.name)}")
    if staged is None:
        return False
    state = "is missing" if missing else "is not the marked file"
    report.note("mark-changed", ident, f"{path} {state}: a `voiceguard watermark embed` stopped after logging "
                                       f"its mark left the marked file at {staged}; move it to {path}, or delete "
                                       f"it (the log is intact)")
    return True


def stranded_clip(path: Path, digest: object) -> Path | None:
    """The copy of ``path`` with SHA-256 ``digest`` that an interrupted clone left in its staging folder, if any.

    :func:`cloner.pipeline.clone` builds a clip at ``.voiceguard-<hex>/<name>`` beside its
    final name and renames it after the record is written (:mod:`cloner.recover`).
    """
    return _stranded_copy(path, digest, f".voiceguard-*/{glob.escape(path.name)}")


def _stranded_copy(path: Path, digest: object, pattern: str) -> Path | None:
    """The first file matching ``pattern`` beside ``path`` whose SHA-256 is ``digest``, or None."""
    for staged in sorted(path.parent.glob(pattern)):
        try:
            if staged.is_file() and sha256_file(staged) == digest:
                return staged
        except OSError:
            continue
    return None


def statement_name(home: Home, body: dict[str, Any]) -> str:
    """The name, in ``home``'s consents/ folder, of the statement file a consent event names ("" for none)."""
    evidence = body.get("evidence")
    path = evidence.get("file") if isinstance(evidence, dict) else None
    if not isinstance(path, str) or not path:
        return ""
    stored = home.stored_file(path)
    return stored.name if stored.parent == home.root / "consents" else ""


def note_strays(report: AuditReport, home: Home, referenced: set[str]) -> None:
    """Note each file in the home's consents/ folder that no consent event refers to."""
    from guard.consent.evidence import KEPT_NAME, PARTIAL_NAME, stray_statements

    for path in stray_statements(home, referenced):
        if PARTIAL_NAME.fullmatch(path.name):
            why = ("a half-made statement copy of a consent grant that was stopped; the next "
                   "`voiceguard consent grant` removes it")
        elif KEPT_NAME.fullmatch(path.name):
            why = ("a statement copy of a consent grant stopped before it was logged (or of a consent that a "
                   "restored ledger lacks); remove it if no backup of the ledger names it")
        else:
            why = "not a file voiceguard wrote there; remove it if nothing needs it"
        report.note("unreferenced-file", path, f"no consent refers to it: {why}")


def check_recordings(report: AuditReport, what: str, vid: str, body: dict[str, Any], home: Home | None, *,
                      fix: str) -> None:
    """The enrollment recordings kept beside a voice model in ``home``'s voices/: one file per recording the event
    names. A model outside a home's voices/ (another generator's) has none to check; a voice folder that is gone
    altogether is reported once, with its model."""
    path, names = body.get("model_path"), body.get("files")
    if home is None or not isinstance(path, str) or not path or not isinstance(names, dict) or not names:
        return
    folder = home.stored_file(path).parent
    if folder.parent != home.voices_dir or not folder.is_dir():
        return
    missing = missing_recordings(folder, names)
    if missing:
        report.fail("missing-file", what, f"{len(missing)} of the {len(names)} enrollment recordings of voice {vid!r} "
                                          f"kept in {folder / RECORDINGS_FOLDER} are missing ({first_few(missing)}); "
                                          f"restore them from a backup{fix}")


def missing_recordings(folder: Path, names: Iterable[object]) -> list[str]:
    """Those of ``names`` (``a.wav``) with no audio file of the same stem, any extension, in ``folder/recordings/``.

    Parameters
    ----------
    folder : Path
        A voice's folder, ``voices/<voice_id>/``.
    names : iterable
        The recording names its ``voice.enrolled`` event lists.

    Returns
    -------
    list of str
        Sorted.
    """
    kept = folder / RECORDINGS_FOLDER
    stems = {p.stem for p in kept.iterdir() if p.suffix != ".txt" and p.is_file()} if kept.is_dir() else set()
    return sorted(str(n) for n in names if Path(str(n)).stem not in stems)


def first_few(names: list[str], shown: int = 3) -> str:
    """``a.wav, b.wav, c.wav and 2 more``: the first ``shown`` of ``names`` and a count of the rest."""
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def note_erasure_left(report: AuditReport, vid: str, body: dict[str, Any], erased: str, home: Home | None) -> None:
    """Note the files of voice ``vid``, whose deletion is logged (``erased``: "event N"), still in ``home``."""
    if home is None:
        return
    path = body.get("model_path")
    folder = home.stored_file(path).parent if isinstance(path, str) and path else home.voices_dir / vid
    left = [folder] if folder.parent == home.voices_dir and folder.exists() else []
    if home.voices_dir.is_dir():  # a deletion stopped after it was logged leaves its files in a hidden folder
        left += sorted(home.voices_dir.glob(f".{glob.escape(vid)}.*"))
    if left:
        report.note("erasure-incomplete", f"voice {vid}", f"its deletion is logged ({erased}), but "
                    f"{', '.join(map(str, left))} still hold its files; run `voiceguard voices delete {vid} "
                    f"--reason TEXT` again to remove them")
