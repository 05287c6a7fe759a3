"""The audit's checks of files on disk: the home's statements, models and recordings, and clips and marks.

A home's own files must be there (consent statements, voice models, kept enrollment
recordings) and the statements and models match their stored SHA-256: the log's meaning rests
on them. The kept recordings are re-encoded copies of what the event hashed, so only their
presence is checked. Clips and marked files
live outside the home, in their owners' hands: one changed is noted, one gone is counted and noted
(``clip-missing``, ``mark-missing``, naming the path the log recorded and the event).
Files in ``consents/`` (or its subfolders) that no consent names, folders in ``voices/`` that no
enrollment names (``unenrolled-voice``), files of a voice whose deletion is logged
(``erasure-incomplete``), the hidden folder a deletion stopped before it was logged left
(``deletion-interrupted``, :func:`interrupted_deletions`) and the hidden folder an enrollment killed
while it wrote the voice left (``enrollment-interrupted``, :func:`enrollment_staging`) are noted.
"""

from __future__ import annotations

import glob
import re
import secrets
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from guard.digest import sha256_file
from guard.home import Home
from guard.ledger.report import AuditReport

# The folder beside a voice model in a home's voices/<voice_id>/ that keeps the voice's enrollment
# recordings, one audio file (any extension) per recording the enrollment event names, by stem.
RECORDINGS_FOLDER = "recordings"
# The file beside a voice model that says how the cloner speaks the voice (its ``tts.language``: an espeak-ng voice).
VOICE_META_FILE = "voice.json"
ERASE_FIX = "if it was erased on purpose, log that with `voiceguard voices delete {vid} --reason TEXT`"
# `voiceguard voices delete` moves voices/<voice_id>/ to voices/.<voice_id>.deleting-<hex> before it logs voice.deleted.
DELETING_INFIX = ".deleting-"
# `voiceguard enroll` writes a voice into voices/.<voice_id>.<12 hex>.tmp, then renames it into place.
_STAGING_NAME = re.compile(r"\.(?P<voice_id>[^.]+)\.[0-9a-f]{12}\.tmp")


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
            report.fail("missing-file", ident, f"{what} {p} is missing{_missing_advice(home, p, fix)}")
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


def _missing_advice(home: Home | None, path: Path, fix: str) -> str:
    """How to put back a home's own ``path`` that is missing: from a backup (then ``fix``), or, for a file of a voice
    in ``voices/<id>/`` whose deletion was stopped before it was logged, from the hidden folder it was moved to."""
    if home is not None and path.parent.parent == home.voices_dir:
        asides = interrupted_deletions(home, path.parent.name)
        if asides:
            return f": {interrupted_deletion_advice(home, path.parent.name, asides)}"
    return f"; restore it from a backup{fix}"


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
    """Note what the home keeps that the log does not account for.

    Each file in ``consents/`` whose name is not in ``referenced`` (the statement names the
    consent events give), each folder in ``consents/`` that holds files (statements are kept in
    ``consents/`` itself), and each entry of ``voices/`` that no ``voice.enrolled`` event of the
    home's ledger names (``unenrolled-voice``; a plain file there is an ``unreferenced-file``).
    """
    _note_stray_statements(report, home, referenced)
    _note_consent_subfolders(report, home)
    _note_unenrolled_voices(report, home)


def _note_stray_statements(report: AuditReport, home: Home, referenced: set[str]) -> None:
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


def _note_consent_subfolders(report: AuditReport, home: Home) -> None:
    """Note each folder in the home's consents/ that holds files: no consent refers to a file in a folder there."""
    try:
        folders = sorted(p for p in (home.root / "consents").iterdir() if p.is_dir())
        held = {folder: sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                               if p.is_symlink() or not p.is_dir()) for folder in folders}
    except OSError:  # no such folder, or one that cannot be listed (its statements are checked one by one)
        return
    for folder, names in held.items():
        if names:
            report.note("unreferenced-file", folder, f"no consent refers to the {len(names)} file(s) in this folder "
                                                     f"({first_few(names)}): voiceguard keeps statements in "
                                                     f"{folder.parent} itself, never in a folder there; remove it "
                                                     f"if nothing needs it")


def _note_unenrolled_voices(report: AuditReport, home: Home) -> None:
    """Note each entry of the home's voices/ that no ``voice.enrolled`` event names, and each enrollment's staging
    folder (:func:`enrollment_staging`) left behind; other hidden entries are a deletion's (noted per voice)."""
    enrolled = _enrolled_voice_ids(home)
    try:
        everything = sorted(home.voices_dir.iterdir())
    except OSError:  # no voices yet, or a folder that cannot be listed
        return
    _note_stopped_enrollments(report, [p for p in everything if p.is_dir() and not p.is_symlink()])
    entries = [p for p in everything if not p.name.startswith(".")]
    if enrolled is None:  # the ledger's events cannot be read: the audit fails for that, and cannot tell
        return
    for entry in entries:
        if entry.name in enrolled:
            continue
        if entry.is_dir():
            report.note("unenrolled-voice", entry, f"no enrollment in the ledger names voice {entry.name!r}: this "
                        f"folder (a voice model and recordings are biometric data) is a copy, was put there by "
                        f"hand, or is an enrollment stopped before it was logged; its clones are refused; remove "
                        f"it if nothing needs it, or enroll the speaker again under a valid consent")
        else:
            report.note("unreferenced-file", entry, "not a voice folder: voiceguard keeps only voice folders in "
                                                    f"{home.voices_dir}; remove it if nothing needs it")


def _note_stopped_enrollments(report: AuditReport, folders: list[Path]) -> None:
    """Note ``enrollment-interrupted`` for each of ``folders`` named as :func:`enrollment_staging` names them."""
    for folder in folders:
        found = _STAGING_NAME.fullmatch(folder.name)
        if found:
            report.note("enrollment-interrupted", folder,
                        f"an enrollment of voice {found['voice_id']!r} stopped while it wrote the voice (the process was "
                        f"killed, or the machine went down) and left this hidden folder: a voice model and "
                        f"recordings, biometric data that nothing logged or uses; unless that enrollment is running "
                        f"now, remove it (rm -r {shlex.quote(str(folder))})")


def _enrolled_voice_ids(home: Home) -> set[str] | None:
    """The voice ids that ``voice.enrolled`` events of the home's ledger name; None when they cannot be read (the
    audit reports why)."""
    from guard.errors import GuardError
    from guard.ledger.store import open_ledger

    try:
        with open_ledger(home) as ledger:
            return {str(event.body.get("voice_id")) for event in ledger.events("voice.enrolled")}
    except GuardError:
        return None


def voice_leftovers(home: Home, voice_id: str) -> list[Path]:
    """What ``home`` holds of voice ``voice_id``: its folder (or a link by that name), then its hidden folders.

    A hidden folder is one a stopped enrollment (``.ID.<hex>.tmp``) or deletion
    (``.ID.deleting-<hex>``, :func:`deletion_aside`) left in ``voices/``.

    Parameters
    ----------
    home : Home
    voice_id : str
        Any text, such as a voice id read from a log: one that is not a valid voice id has nothing in a home.

    Returns
    -------
    list of Path
        The folder first (when it exists), then the hidden folders, sorted.
    """
    from guard.consent.record import VOICE_ID

    if not isinstance(voice_id, str) or not VOICE_ID.fullmatch(voice_id):
        return []
    folder = home.voices_dir / voice_id
    try:  # voice ids hold no '.', so ".amy." never starts another voice's hidden folder
        hidden = sorted(p for p in home.voices_dir.iterdir() if p.name.startswith(f".{voice_id}."))
    except OSError:  # no voices/ yet, or one that cannot be listed
        hidden = []
    return ([folder] if folder.exists() or folder.is_symlink() else []) + hidden


def enrollment_staging(home: Home, voice_id: str) -> Path:
    """A new hidden name, ``voices/.ID.<hex>.tmp``, for ``enroll`` to write voice ``voice_id`` into before it renames it
    into place (an enrollment killed while writing leaves it: :func:`note_strays` notes it)."""
    return home.voices_dir / f".{voice_id}.{secrets.token_hex(6)}.tmp"


def deletion_aside(home: Home, voice_id: str) -> Path:
    """A new hidden name, ``voices/.ID.deleting-<hex>``, to move ``voice_id``'s folder to while its deletion is logged."""
    return home.voices_dir / f".{voice_id}{DELETING_INFIX}{secrets.token_hex(6)}"


def interrupted_deletions(home: Home, voice_id: str) -> list[Path]:
    """The hidden folders (:func:`deletion_aside`) that deletions of ``voice_id`` stopped part-way left, sorted.

    Unless the voice's ``voice.deleted`` event is logged, each was left by a deletion stopped
    before its event was committed: the voice's files, moved aside, with nothing logged.
    """
    prefix = f".{voice_id}{DELETING_INFIX}"
    return [p for p in voice_leftovers(home, voice_id) if p.name.startswith(prefix)]


def interrupted_deletion_advice(home: Home, voice_id: str, asides: list[Path]) -> str:
    """What to tell people of ``asides`` (:func:`interrupted_deletions`, not empty) of a voice not logged deleted.

    Names the hidden folders and both ways out: finish the deletion, or keep the voice.
    """
    folder = home.voices_dir / voice_id
    where = ", ".join(map(str, asides))
    finish = f"run `voiceguard voices delete {voice_id} --reason TEXT` again to finish it"
    if folder.exists() or folder.is_symlink():
        return (f"a `voiceguard voices delete` stopped before it was logged left files of the voice in {where}, and "
                f"{folder} is in place again: {finish}, or remove {where} by hand to keep the voice")
    back = f"rename {asides[0]}" if len(asides) == 1 else "rename one of them"
    return (f"a `voiceguard voices delete` stopped before it was logged left the voice's files in {where}: {finish}, "
            f"or {back} back to {folder} to keep the voice")


def note_interrupted_deletion(report: AuditReport, vid: str, home: Home) -> None:
    """Note ``deletion-interrupted``: the folders a deletion of voice ``vid``, not logged, left aside (if any)."""
    asides = interrupted_deletions(home, vid)
    if asides:
        report.note("deletion-interrupted", f"voice {vid}", interrupted_deletion_advice(home, vid, asides))


def check_recordings(report: AuditReport, what: str, vid: str, body: dict[str, Any], home: Home | None, *,
                      fix: str) -> None:
    """The enrollment recordings kept beside a voice model in ``home``'s voices/: one file per recording the event
    names. A model outside a home's voices/ (another generator's) has none to check; a voice folder that is gone
    altogether is reported once, with its model. A deletion of the voice stopped before it was logged
    (its deletion is not logged: the caller checks) is noted, ``deletion-interrupted``."""
    if home is not None:
        note_interrupted_deletion(report, vid, home)
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


def enrolled_folder(home: Home | None, body: dict[str, Any]) -> Path | None:
    """The folder in ``home``'s voices/ meant to hold the model of a ``voice.enrolled`` event ``body`` (it may be
    gone); None when the event names no model in a home's voices/ (another generator's, or none)."""
    path = body.get("model_path")
    if home is None or not isinstance(path, str) or not path:
        return None
    folder = home.stored_file(path).parent
    return folder if folder.parent == home.voices_dir else None


def folder_language(folder: Path) -> str | None:
    """The language tag a voice folder speaks: its ``voice.json``'s ``tts.language`` (the espeak-ng voice the
    cloner speaks it with, ``en-gb+f3`` or ``gmw/en-GB``) as enrollment logs it, ``en-gb``; None when there is no
    ``voice.json``, it cannot be read, or it names no language.

    Only the variant (``+f3``) and the voice's group (``gmw/``) are dropped: a voice given by its name
    (``English (America)``) is returned lowercased, as it is, and is no language tag.
    """
    import json

    try:
        meta = json.loads((folder / VOICE_META_FILE).read_text(encoding="utf-8"))
        language = meta["tts"]["language"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(language, str) or not language.strip():
        return None
    return language.partition("+")[0].strip().lower().rpartition("/")[2].replace("_", "-")


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
    """Note the files of voice ``vid``, whose deletion is logged (``erased``: "event N"), still in ``home``.

    ``body`` is its ``voice.enrolled`` event's; its files are found by the voice id
    (:func:`voice_leftovers`), including the hidden folder of a deletion stopped after it was logged.
    """
    left = voice_leftovers(home, vid) if home is not None else []
    if left:
        report.note("erasure-incomplete", f"voice {vid}", f"its deletion is logged ({erased}), but "
                    f"{', '.join(map(str, left))} still hold its files; run `voiceguard voices delete {vid} "
                    f"--reason TEXT` again to remove them")
