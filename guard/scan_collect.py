"""Which files a scan of paths reads: folders expanded (links followed, each folder once), non-audio skipped."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from guard.audio import is_audio_path


def collect(paths: Sequence[str | os.PathLike[str]], *, warn: Callable[[str], None] | None = None) -> tuple[list[Path], list[Path]]:
    """Expand files and folders (recursively) into audio files to scan and files skipped.

    A path named explicitly is always scanned (a missing or non-audio one gives an error
    row); inside folders only files with an extension of :data:`guard.audio.AUDIO_EXTENSIONS`
    are scanned and the others (links that lead nowhere too) are returned as skipped. Links
    to folders are followed (:func:`guard.walk.walk`), each folder once: a link loop, or a
    second link to a folder, is told to ``warn`` (default: a line on stderr). A folder that
    cannot be read is returned among the files, so that its error row names it. Order: as
    given, folders sorted.
    """
    from guard.walk import walk, warn_stderr

    files: list[Path] = []
    skipped: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        to_scan, to_skip = [p], []
        if p.is_dir():
            found = walk(p)
            for line in found.repeated_lines():
                (warn or warn_stderr)(line)
            audio = {q for q in found.entries if is_audio_path(q) and q.exists()}
            to_scan = sorted([*audio, *(folder for folder, _ in found.unreadable)])
            to_skip = [q for q in found.entries if q not in audio]
        files += [q for q in to_scan if q not in seen]
        skipped += [q for q in to_skip if q not in seen]
        seen.update(to_scan, to_skip)
    return files, skipped
