"""Free-text arguments on the command line: bytes that are not UTF-8 and control characters
are a usage error (exit 2) naming the argument, never a traceback, and change nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import click
import pytest

from guard.cli import cli
from guard.cliutil import Text

NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()
BAD_BYTE = "Hello \udcff world"  # what click makes of b"Hello \xff world" (surrogateescape)


@pytest.mark.parametrize(
    "value, multiline, message",
    [
        ("Hello, world.", False, None),
        ("Zo\u00eb \u00c5sa \u4f60\u597d <3 & co", False, None),
        ("two\nlines\tand\r\nmore", True, None),
        ("", False, None),  # emptiness is the library's to judge, with its own message
        (BAD_BYTE, True, "not valid UTF-8 text (byte 0xFF at character 7)"),
        ("\ud800", True, "not valid UTF-8 text (lone surrogate U+D800 at character 1)"),
        ("a\x00b", True, "control character U+0000 at character 2 is not allowed; give plain text"),
        ("red \x1b[31m", True, "control character U+001B at character 5"),
        ("c1 \x9b", True, "control character U+009B"),
        ("two\nlines", False, "control character U+000A at character 4 is not allowed; give one line of plain text"),
        ("tab\there", False, "control character U+0009"),
    ],
)
def test_text_type(value: str, multiline: bool, message: str | None) -> None:
    kind = Text(multiline=multiline)
    if message is None:
        assert kind.convert(value, None, None) == value
        return
    with pytest.raises(click.BadParameter) as caught:
        kind.convert(value, None, None)
    assert message in caught.value.format_message()


def _grant(runner, home) -> str:  # noqa: ANN001
    res = runner.invoke(cli, ["--home", str(home.root), "consent", "grant", "corpus-1", "--subject", "Reader",
                              "--operator", "Lab", "--purpose", "research", "--expires", NEXT_YEAR,
                              "--license", "CC BY 4.0", "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["consent_id"]


@pytest.mark.parametrize(
    "args, name",
    [
        (["tts", BAD_BYTE, "-o", "{tmp}/t.wav"], "'[TEXT]'"),
        (["tts", "Hello\x00 world", "-o", "{tmp}/t.wav"], "'[TEXT]'"),
        (["tts", "Hello", "-o", "{tmp}/t.wav", "--voice", "en\udcff"], "'--voice'"),
        (["clone", "nova", BAD_BYTE, "-o", "{tmp}/t.wav", "--purpose", "audiobook"], "'TEXT'"),
        (["clone", "nova", "Plain words here.", "-o", "{tmp}/t.wav", "--purpose", "audio\udcffbook"], "'--purpose'"),
        (["clone", "no\udcffva", "Plain words here.", "-o", "{tmp}/t.wav", "--purpose", "audiobook"], "'VOICE_ID'"),
        (["enroll", "v1", "--recordings", "{tmp}", "--consent", "consent-\udcff"], "'--consent'"),
        (["enroll", "--print-script", "--subject", "A\udcffda"], "'--subject'"),
        (["enroll", "v1", "--recordings", "{tmp}", "--consent", "c", "--language", "en\x1b"], "'--language'"),
        (["consent", "template", "--subject", "A\udcffda", "--operator", "Lab", "--purpose", "game",
          "--expires", NEXT_YEAR], "'--subject'"),
        (["consent", "grant", "v1", "--subject", "Ada", "--operator", "La\nb", "--purpose", "research",
          "--expires", NEXT_YEAR, "--license", "CC"], "'--operator'"),
        (["consent", "grant", "v1", "--subject", "Ada", "--operator", "Lab", "--purpose", "research",
          "--expires", NEXT_YEAR, "--license", "CC\udcff"], "'--license'"),
        (["consent", "grant", "v1", "--subject", "Ada", "--operator", "Lab", "--purpose", "research",
          "--expires", NEXT_YEAR, "--license", "CC", "--language", "e\udcffn"], "'--language'"),
        (["consent", "grant", "v\udcff1", "--subject", "Ada", "--operator", "Lab", "--purpose", "research",
          "--expires", NEXT_YEAR, "--license", "CC"], "'VOICE_ID'"),
        (["consent", "show", "consent-\udcff"], "'CONSENT_ID'"),
        (["consent", "revoke", "consent-\udcff", "--reason", "done"], "'CONSENT_ID'"),
    ],
)
def test_bad_text_is_a_usage_error_naming_the_argument(runner, home, tmp_path: Path, args: list[str],  # noqa: ANN001
                                                       name: str) -> None:
    res = runner.invoke(cli, ["--home", str(home.root), *[a.replace("{tmp}", str(tmp_path)) for a in args]])
    assert res.exit_code == 2, res.output
    assert f"Error: Invalid value for {name}: " in res.stderr
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert not (tmp_path / "t.wav").exists()


def test_a_revocation_with_a_bad_reason_changes_nothing(runner, home) -> None:  # noqa: ANN001
    cid = _grant(runner, home)
    res = runner.invoke(cli, ["--home", str(home.root), "consent", "revoke", cid, "--reason", "bad\udcff"])
    assert res.exit_code == 2 and "Invalid value for '--reason': not valid UTF-8 text" in res.stderr
    shown = runner.invoke(cli, ["--home", str(home.root), "consent", "show", cid, "--json"])
    assert json.loads(shown.stdout)["status"] == "valid"
    res = runner.invoke(cli, ["--home", str(home.root), "consent", "revoke", cid, "--reason", "the reader\nasked"])
    assert res.exit_code == 0, res.output  # a reason may take several lines


def test_undecodable_argv_bytes_from_a_real_process(tmp_path: Path) -> None:
    """The bytes reach click as the shell passes them (argv decoded with surrogateescape)."""
    out = tmp_path / "t.wav"
    proc = subprocess.run([sys.executable, "-c", "from guard.cli import main; main()", "tts", b"Hello \xff world",
                           "-o", str(out)], capture_output=True, timeout=120)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, stderr
    assert "Error: Invalid value for '[TEXT]': not valid UTF-8 text (byte 0xFF at character 7)" in stderr
    assert "Traceback" not in stderr and not out.exists()


def test_a_file_name_that_is_not_utf8_is_not_refused_as_text(runner, tmp_path: Path) -> None:  # noqa: ANN001
    # b"caf\xe9.wav" is a legal Linux file name: -o takes it as a path (here in a missing
    # folder, so the library's own error answers, not a usage error)
    out = tmp_path / "no" / "caf\udce9.wav"
    res = runner.invoke(cli, ["tts", "Good morning.", "-o", str(out)])
    assert res.exit_code == 1, res.output
    assert "Invalid value" not in res.stderr and "output folder" in res.stderr


@pytest.mark.parametrize(("args", "code", "stderr"), [
    (["info", "x.wav"], 130, "Error: interrupted\n"),  # Ctrl-C inside a command: exit 130, not click's 1
    (["info"], 2, "Error: Missing argument 'FILES...'"),  # usage errors as click shows them
    (["--version"], 0, ""),
])
def test_the_console_entry_point_exits_130_when_interrupted(args: list[str], code: int, stderr: str) -> None:
    interrupted = ("import guard.audio\n"
                   "def stopped(path):\n    raise KeyboardInterrupt\n"
                   "guard.audio.info = stopped\n"
                   "from guard.cli import main\nmain()")
    proc = subprocess.run([sys.executable, "-c", interrupted, *args], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1], env={**os.environ, "PYTHONPATH": "."})
    assert proc.returncode == code, proc.stderr
    assert stderr in proc.stderr and "Traceback" not in proc.stderr and "Aborted!" not in proc.stderr
