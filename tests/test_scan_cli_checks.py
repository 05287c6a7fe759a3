"""scan's checks before and around the work: bad numbers, the file-length limit, an unreadable file, a
report folder that cannot be written, and advice on a broken home that fits how the home was chosen."""

from __future__ import annotations

import errno
import json
import os
import types
from pathlib import Path

import pytest
from conftest import SR, tone

import guard.cliutil
import guard.scan
from guard.audio import DEFAULT_MAX_DURATION_S, save
from guard.cli import cli
from guard.cliutil import cannot_write_in
from guard.errors import ParameterError
from guard.scan import ScanConfig, Scanner
from guard.scan_result import unreadable_text


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$HOME`` of a user without ``$VOICEGUARD_HOME``; ``~/.voiceguard`` is not made."""
    monkeypatch.delenv("VOICEGUARD_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    (tmp_path / "user").mkdir()
    return tmp_path / "user"


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return save(tmp_path / "clip.wav", tone(300, 2.0), sample_rate=SR)


def _errors(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("Error: ")]


@pytest.mark.parametrize("option, value, message", [
    ("--threshold", "nan", "'nan' is not a finite number; give a number with 0 <= x <= 1"),
    ("--threshold", "inf", "inf is not in the range 0.0<=x<=1.0"),
    ("--threshold", "-0.1", "not in the range"),
    ("--max-duration", "nan", "'nan' is not a finite number; give a number with x > 0"),
    ("--max-duration", "inf", "'inf' is not a finite number"),
    ("--max-duration", "0", "0.0 is not in the range x>0.0"),
    ("--max-duration", "-60", "is not in the range x>0.0"),
    ("--max-duration", "two hours", "'two hours' is not a valid finite float"),
])
def test_bad_numbers_are_usage_errors(runner, clip: Path, user_home: Path, option: str, value: str,  # noqa: ANN001
                                      message: str) -> None:
    result = runner.invoke(cli, ["scan", str(clip), option, value])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.stderr and message in result.stderr
    assert "Traceback" not in result.output and "no voiceguard home" not in result.stderr  # refused before any work


def test_max_duration_is_documented_with_its_default(runner) -> None:  # noqa: ANN001
    result = runner.invoke(cli, ["scan", "--help"])
    assert result.exit_code == 0
    help_text = " ".join(result.stdout.split())
    assert "--max-duration SECONDS Longest file scanned; a longer one gets an error row." in help_text
    assert f"[default: {DEFAULT_MAX_DURATION_S}; x>0.0]" in help_text


def test_max_duration_sets_the_longest_file_scanned(runner, clip: Path, user_home: Path) -> None:  # noqa: ANN001
    short = runner.invoke(cli, ["scan", str(clip), "--max-duration", "1.5", "--json"])
    assert short.exit_code == 0, short.output
    row = json.loads(short.stdout)
    assert row["verdict"] == "error"
    assert row["error"] == (f"{clip}: is 2.0 s long, over the maximum of 1.5 s; cut it into shorter files; or raise the "
                            "limit with --max-duration SECONDS (about 230 MB of memory per hour of audio)")
    enough = runner.invoke(cli, ["scan", str(clip), "--max-duration", "2.5", "--json"])
    assert json.loads(enough.stdout)["verdict"] != "error" and json.loads(enough.stdout)["duration_s"] == 2.0


@pytest.mark.parametrize("limit", [0.0, -1.0, float("nan"), float("inf"), "7200", True])
def test_a_scanner_refuses_a_bad_limit(limit: object) -> None:
    with pytest.raises(ParameterError, match="max_duration_s must be a finite number of seconds > 0"):
        Scanner(ScanConfig(max_duration_s=limit))  # type: ignore[arg-type]


def test_an_unreadable_file_in_a_folder_gets_a_plain_reason(runner, tmp_path: Path, user_home: Path,  # noqa: ANN001
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "tree"
    folder.mkdir()
    save(folder / "a.wav", tone(300, 1.0), sample_rate=SR)
    save(folder / "locked.ogg", tone(300, 1.0), sample_rate=SR)
    real_load = guard.scan.load

    def load(path, **kwargs):  # noqa: ANN001, ANN202 - as for a mode-000 file under a user other than root
        if Path(path).name == "locked.ogg":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_load(path, **kwargs)

    monkeypatch.setattr(guard.scan, "load", load)
    result = runner.invoke(cli, ["scan", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    rows = {Path(r["file"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["a.wav"]["verdict"] != "error"
    assert rows["locked.ogg"]["verdict"] == "error"
    assert rows["locked.ogg"]["reason"] == rows["locked.ogg"]["error"] == (
        f"{folder / 'locked.ogg'}: cannot be read (permission denied); make it readable for this user (chmod u+r) "
        "and scan it again")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file")
def test_a_mode_000_file_gets_the_plain_reason(tmp_path: Path) -> None:
    locked = save(tmp_path / "locked.wav", tone(300, 1.0), sample_rate=SR)
    locked.chmod(0)
    try:
        result = Scanner(ScanConfig()).scan(locked)
    finally:
        locked.chmod(0o600)
    assert result.verdict == "error" and "cannot be read (permission denied)" in result.reason


@pytest.mark.parametrize("exc, text", [
    (OSError(errno.EIO, "Input/output error", "x.wav"),
     "x.wav: cannot be read (input/output error); check the file (or copy it off a failing disk) and scan it again"),
    (PermissionError(errno.EACCES, "Permission denied", "/home/.voiceguard/ledger.sqlite"),
     "x.wav: reading /home/.voiceguard/ledger.sqlite: cannot be read (permission denied); make it readable for this "
     "user (chmod u+r) and scan it again"),
    (OSError("odd"), "x.wav: cannot be read (odd); check the file (or copy it off a failing disk) and scan it again"),
])
def test_unreadable_text(exc: OSError, text: str) -> None:
    assert unreadable_text("x.wav", exc) == text


def test_a_report_folder_that_cannot_be_written_is_refused_before_the_scan(
        runner, clip: Path, tmp_path: Path, user_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    folder = tmp_path / "rodir"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # mode bits do not stop root: the folder refuses the new file as it would another user

        def refuse(**kwargs):  # noqa: ANN003, ANN202
            raise PermissionError(errno.EACCES, "Permission denied", str(kwargs["dir"]))

        monkeypatch.setattr(guard.cliutil, "tempfile", types.SimpleNamespace(NamedTemporaryFile=refuse))
    try:
        result = runner.invoke(cli, ["scan", str(clip), "--report", str(folder / "r.html")])
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 1, result.output
    assert _errors(result.stderr) == [f"Error: --report {folder / 'r.html'}: folder {folder} is not writable "
                                      "(Permission denied); choose a folder you can write to"]
    assert "FILE" not in result.stderr and "scanned" not in result.stderr  # nothing was scanned
    assert not (folder / "r.html").exists()


def test_cannot_write_in(tmp_path: Path) -> None:
    assert cannot_write_in(tmp_path) is None and list(tmp_path.iterdir()) == []  # the test file is gone again
    (tmp_path / "file").write_text("x")
    assert cannot_write_in(tmp_path / "file") == "Not a directory"
    assert cannot_write_in(tmp_path / "none") == "No such file or directory"


def test_a_broken_default_home_gets_advice_about_itself(runner, clip: Path, user_home: Path) -> None:  # noqa: ANN001
    (user_home / ".voiceguard").mkdir()  # no keys
    result = runner.invoke(cli, ["scan", str(clip)])
    assert result.exit_code == 1
    (error,) = _errors(result.stderr)
    assert error.startswith(f"Error: voiceguard home {user_home / '.voiceguard'} has no keys; run `voiceguard init")
    assert error.endswith(f"(or move {user_home / '.voiceguard'} aside to scan without keys or ledger)")
    assert "--home and" not in error and "VOICEGUARD_HOME" not in error  # neither was set


def test_a_broken_chosen_home_gets_advice_for_how_it_was_chosen(runner, clip: Path, tmp_path: Path, user_home: Path,  # noqa: ANN001
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    by_option = _errors(runner.invoke(cli, ["scan", str(clip), "--home", str(broken)]).stderr)
    assert by_option[0].endswith("(or scan without a home: leave out --home)")
    group_option = _errors(runner.invoke(cli, ["--home", str(broken), "scan", str(clip)]).stderr)
    assert group_option == by_option
    monkeypatch.setenv("VOICEGUARD_HOME", str(broken))
    by_env = _errors(runner.invoke(cli, ["scan", str(clip)]).stderr)
    assert by_env[0].endswith("(or scan without a home: unset $VOICEGUARD_HOME)")
    (user_home / ".voiceguard").mkdir()  # would be used once the chosen home is not
    both = _errors(runner.invoke(cli, ["scan", str(clip), "--home", str(broken)]).stderr)
    assert both[0].endswith(f"(or scan without a home: leave out --home, unset $VOICEGUARD_HOME and move "
                            f"{user_home / '.voiceguard'} aside)")


def test_the_files_a_folder_scan_skips_are_named(runner, tmp_path: Path, user_home: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "evidence"
    folder.mkdir()
    save(folder / "call.wav", tone(300, 2.0), sample_rate=SR)
    for name in ("notes.txt", "b.pdf", "c.doc", "d.jpg"):
        (folder / name).write_text("not audio")
    result = runner.invoke(cli, ["scan", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    assert (f"skipped 4 file(s) that are not audio by extension: {folder / 'b.pdf'}, {folder / 'c.doc'}, "
            f"{folder / 'd.jpg'} and 1 more") in result.stderr
    assert [json.loads(line)["file"] for line in result.stdout.splitlines()] == [str(folder / "call.wav")]
