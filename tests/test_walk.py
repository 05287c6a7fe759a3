"""guard.walk and the folder walks that use it: links to folders followed once, loops and unreadable folders named."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from guard.walk import files_under, walk
from tests.conftest import SR, tone


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def _wav(path: Path) -> Path:
    from guard.audio import save

    path.parent.mkdir(parents=True, exist_ok=True)
    return save(path, tone(300.0, 0.5), sample_rate=SR)


@pytest.fixture
def lock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], Path]]:
    """Make a folder unreadable. chmod 000 does not stop root, so as root the system's refusal is made here."""
    locked: list[Path] = []
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str] = ".") -> object:
        if Path(path) in locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def make(folder: Path) -> Path:
        folder.chmod(0)
        locked.append(folder)
        if os.geteuid() == 0:
            monkeypatch.setattr(os, "scandir", scandir)
        return folder

    yield make
    for folder in locked:
        folder.chmod(0o755)


def test_a_link_to_a_folder_is_walked_and_its_files_named_through_it(tmp_path: Path) -> None:
    _touch(tmp_path / "outside" / "deep" / "b.wav")
    root = tmp_path / "root"
    _touch(root / "a.wav")
    (root / "linked").symlink_to(tmp_path / "outside")
    found = walk(root)
    assert found.entries == [root / "a.wav", root / "linked" / "deep" / "b.wav"]
    assert found.problems() == []


def test_a_link_loop_is_walked_once_and_named(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _touch(root / "sub" / "a.wav")
    (root / "sub" / "up").symlink_to(root)
    found = walk(root)
    assert found.entries == [root / "sub" / "a.wav"]
    assert found.repeated == [(root / "sub" / "up", root)]
    assert found.problems() == [f"{root / 'sub' / 'up'}: leads to {root}, a folder already walked (a link loop, or a "
                                f"second link to it); its files are taken once, under {root}"]


def test_a_folder_reached_twice_is_walked_once_by_its_own_path(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _touch(root / "real" / "a.wav")
    (root / "a_link").symlink_to(root / "real")  # sorts before real/, still the real path names the file
    (root / "z_link").symlink_to(root / "real")
    found = walk(root)
    assert found.entries == [root / "real" / "a.wav"]
    assert found.repeated == [(root / "a_link", root / "real"), (root / "z_link", root / "real")]


def test_two_links_to_one_outside_folder_walk_it_once(tmp_path: Path) -> None:
    _touch(tmp_path / "outside" / "b.wav")
    root = tmp_path / "root"
    root.mkdir()
    (root / "one").symlink_to(tmp_path / "outside")
    (root / "two").symlink_to(tmp_path / "outside")
    found = walk(root)
    assert found.entries == [root / "one" / "b.wav"] and found.repeated == [(root / "two", root / "one")]


def test_links_to_nothing_and_to_themselves_are_entries_not_folders(tmp_path: Path) -> None:
    (tmp_path / "dead.wav").symlink_to(tmp_path / "gone.wav")
    (tmp_path / "self.wav").symlink_to(tmp_path / "self.wav")
    found = walk(tmp_path)
    assert found.entries == [tmp_path / "dead.wav", tmp_path / "self.wav"] and found.problems() == []


def test_an_unreadable_folder_is_named_and_the_rest_walked(tmp_path: Path, lock: Callable[[Path], Path]) -> None:
    _touch(tmp_path / "open" / "a.wav")
    _touch(tmp_path / "shut" / "hidden.wav")
    lock(tmp_path / "shut")
    found = walk(tmp_path)
    assert found.entries == [tmp_path / "open" / "a.wav"]
    assert found.unreadable == [(tmp_path / "shut", "permission denied")]
    assert found.problems() == [f"{tmp_path / 'shut'}: folder cannot be read (permission denied); the files in it are left out"]
    assert walk(tmp_path / "shut").unreadable == [(tmp_path / "shut", "permission denied")]


def test_files_under_tells_warn_of_each_problem_and_stderr_by_default(tmp_path: Path, lock: Callable[[Path], Path],
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _touch(tmp_path / "shut" / "x.wav")
    (tmp_path / "loop").symlink_to(tmp_path)
    lock(tmp_path / "shut")
    told: list[str] = []
    assert files_under(tmp_path, warn=told.append) == []
    assert len(told) == 2 and "shut: folder cannot be read" in told[0] and "loop: leads to" in told[1]
    files_under(tmp_path)
    err = capsys.readouterr().err
    assert "warning: " in err and "shut: folder cannot be read" in err and "loop: leads to" in err


def test_scan_collect_follows_links_and_gives_unreadable_folders_an_error_row(tmp_path: Path,
                                                                              lock: Callable[[Path], Path]) -> None:
    from guard.scan import ScanConfig, Scanner
    from guard.scan_collect import collect

    _wav(tmp_path / "data" / "linked.wav")
    inbox = tmp_path / "inbox"
    _wav(inbox / "real" / "a.wav")
    _wav(inbox / "shut" / "hidden.flac")
    (inbox / "data_link").symlink_to(tmp_path / "data")
    (inbox / "real" / "loop").symlink_to(inbox)
    lock(inbox / "shut")
    told: list[str] = []
    files, skipped = collect([inbox], warn=told.append)
    assert files == [inbox / "data_link" / "linked.wav", inbox / "real" / "a.wav", inbox / "shut"] and skipped == []
    assert told == [f"{inbox / 'real' / 'loop'}: leads to {inbox}, a folder already walked (a link loop, or a second "
                    f"link to it); its files are taken once, under {inbox}"]
    row = Scanner(ScanConfig()).scan(inbox / "shut")
    assert row.verdict == "error"
    assert row.error == (f"{inbox / 'shut'}: is a folder that cannot be read (permission denied), so no file in it "
                         "was read; make it readable for this user (chmod u+rx) and try again")


def test_detect_folder_specs_follow_links_and_warn_of_unreadable_folders(tmp_path: Path,
                                                                        lock: Callable[[Path], Path]) -> None:
    from guard.detect.data import audio_files, read_spec

    spec = tmp_path / "spec"
    _touch(tmp_path / "elsewhere" / "tts" / "s1.wav")
    _touch(spec / "bonafide" / "b1.wav")
    _touch(spec / "bonafide" / "shut" / "b2.wav")
    (spec / "spoof").mkdir()
    (spec / "spoof" / "tts_linked").symlink_to(tmp_path / "elsewhere" / "tts")
    lock(spec / "bonafide" / "shut")
    told: list[str] = []
    assert audio_files(spec / "spoof", warn=told.append) == [spec / "spoof" / "tts_linked" / "s1.wav"] and told == []
    items = read_spec(spec, warn=told.append)
    assert [(it.path, it.label) for it in items] == [(spec / "bonafide" / "b1.wav", "bonafide"),
                                                     (spec / "spoof" / "tts_linked" / "s1.wav", "spoof")]
    assert told == [f"{spec / 'bonafide' / 'shut'}: folder cannot be read (permission denied); the files in it are left out"]


def test_bench_folder_layout_counts_spoofs_behind_a_link(tmp_path: Path) -> None:
    from eval.datasets import folder

    root = tmp_path / "fold2"
    _touch(tmp_path / "fold" / "spoof" / "tts" / "t1.wav")
    _touch(root / "bonafide" / "b1.wav")
    _touch(root / "spoof" / "f3.wav")
    (root / "spoof" / "tts_linked").symlink_to(tmp_path / "fold" / "spoof" / "tts")
    items = folder(root)
    assert [(it.path.name, it.label, it.attack) for it in items] == [
        ("b1.wav", "bonafide", "-"), ("f3.wav", "spoof", "spoof"), ("t1.wav", "spoof", "tts_linked")]


def test_false_alarm_voices_and_selfplay_sources_behind_a_link_are_found(tmp_path: Path) -> None:
    from eval.bench_false_alarms import find_voices
    from eval.selfplay_sources import librispeech_sources

    for name in ("1-1-0000.wav", "1-1-0001.wav"):
        _touch(tmp_path / "speaker" / name)
    root = tmp_path / "root"
    root.mkdir()
    (root / "linked").symlink_to(tmp_path / "speaker")
    assert [v.name for v in find_voices([root], min_files=2)] == ["root/linked"]
    assert [s.path for s in librispeech_sources(root)] == [root / "linked" / "1-1-0000.wav", root / "linked" / "1-1-0001.wav"]
