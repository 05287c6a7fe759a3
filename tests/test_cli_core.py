"""The CLI contract for init, info, tts and --version: exit codes, stdout JSON, one Error line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import tone

from guard import __version__
from guard.audio import save
from guard.cli import cli

SR = 16000


def test_version(runner) -> None:  # noqa: ANN001
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_init_then_again(runner, tmp_path: Path) -> None:  # noqa: ANN001
    first = runner.invoke(cli, ["init", "--home", str(tmp_path / "h"), "--json"])
    assert first.exit_code == 0
    created = json.loads(first.stdout)["created"]
    assert any(p.endswith("signing-ed25519.pem") for p in created)
    second = runner.invoke(cli, ["--home", str(tmp_path / "h"), "init"])
    assert second.exit_code == 0 and "already initialised" in second.stderr


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3", "m4a", "aac", "opus", "webm", "mp4"])
def test_info_json_duration(runner, tmp_path: Path, ext: str) -> None:  # noqa: ANN001
    path = save(tmp_path / f"a.{ext}", tone(500.0, 1.5), sample_rate=SR, bitrate_bps=48000)
    result = runner.invoke(cli, ["info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert abs(facts["duration_s"] - 1.5) < 0.05
    assert set(facts) >= {"duration_s", "sample_rate", "channels", "codec", "container"}


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {"missing": tmp_path / "missing.wav", "directory": tmp_path / "d.wav"}
    files["directory"].mkdir()
    (tmp_path / "empty.wav").write_bytes(b"")
    files["empty"] = tmp_path / "empty.wav"
    (tmp_path / "text.txt").write_text("hello " * 50)
    files["not-audio"] = tmp_path / "text.txt"
    good = save(tmp_path / "good.wav", tone(300.0, 1.0), sample_rate=SR)
    (tmp_path / "trunc.wav").write_bytes(good.read_bytes()[:30])
    files["truncated"] = tmp_path / "trunc.wav"
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), SR)
    files["zero-samples"] = tmp_path / "zero.wav"
    return files


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "not-audio", "truncated", "zero-samples"])
def test_info_bad_input_one_error_line(runner, tmp_path: Path, kind: str) -> None:  # noqa: ANN001
    path = _bad_files(tmp_path)[kind]
    result = runner.invoke(cli, ["info", str(path)])
    assert result.exit_code == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(path) in lines[0]
    assert "Traceback" not in result.output


def test_info_json_has_a_line_for_every_file(runner, tmp_path: Path) -> None:  # noqa: ANN001
    good = save(tmp_path / "good.wav", tone(440.0, 1.0), sample_rate=SR)
    result = runner.invoke(cli, ["info", str(tmp_path / "gone.wav"), str(good), "--json"])
    assert result.exit_code == 1
    gone, facts = (json.loads(line) for line in result.stdout.splitlines())
    assert gone["file"] == str(tmp_path / "gone.wav") and "not found" in gone["error"]
    assert facts["path"] == str(good) and abs(facts["duration_s"] - 1.0) < 1e-3


def test_tts_writes_speech(runner, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "s.wav"
    result = runner.invoke(cli, ["tts", "Good morning to everyone here.", "-o", str(out), "--rate", "150", "--json"])
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    y, sr = sf.read(out)
    assert sr == facts["sample_rate"] and abs(y.shape[0] / sr - facts["duration_s"]) < 0.01
    assert np.sqrt(np.mean(y**2)) > 0.01


def test_tts_reports_the_rate_the_file_has(runner, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "s.opus"  # Opus decodes at 48 kHz whatever rate went in
    result = runner.invoke(cli, ["tts", "Good morning.", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sample_rate"] == 48000
    human = runner.invoke(cli, ["tts", "Good morning.", "-o", str(out)])
    assert human.exit_code == 0 and "(the .opus file decodes at 48000 Hz, not 22050 Hz)" in human.stderr


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["tts", "", "-o", "{tmp}/x.wav"], 1, "Error: text is empty"),
        (["tts", "hi", "-o", "{tmp}/no/x.wav"], 1, "Error: "),
        (["tts", "hi", "-o", "{tmp}/x.xyz"], 1, "cannot write '.xyz'"),
        (["tts", "hi", "-o", "{tmp}/x.wav", "--voice", "zz-nope"], 1, "no voice 'zz-nope'"),
        (["tts", "hi", "-o", "{tmp}/x.wav", "--voice", "en-us+nonexist"], 1,
         "Error: espeak-ng has no voice variant 'nonexist' (in voice 'en-us+nonexist')"),
        (["tts", "<speak>hi</speak>", "-o", "{tmp}/x.wav"], 1, "Error: text has markup '<speak>' at character 1"),
        (["tts", "hi \udcff", "-o", "{tmp}/x.wav"], 2, "Invalid value for '[TEXT]': not valid UTF-8 text"),
        (["tts", "hi", "-o", "{tmp}/x.wav", "--pitch", "200"], 2, "Invalid value for '--pitch'"),
        (["tts", "hi"], 2, "TEXT and -o OUT are required"),
        (["nosuchcommand"], 2, "No such command"),
    ],
)
def test_cli_errors(runner, tmp_path: Path, args: list[str], code: int, message: str) -> None:  # noqa: ANN001
    result = runner.invoke(cli, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_tts_list_voices_json(runner) -> None:  # noqa: ANN001
    result = runner.invoke(cli, ["tts", "--list-voices", "--json"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert any("en-us" in r["languages"] for r in rows)


@pytest.mark.parametrize("voice", ["en-gb", "en-gb+f3", "en-gb+m3", "fr-fr", "zh"])
def test_tts_takes_every_listed_language_as_a_voice(runner, tmp_path: Path, voice: str) -> None:  # noqa: ANN001
    listed = runner.invoke(cli, ["tts", "--list-voices", "--json"])
    assert voice.split("+")[0] in {lang for line in listed.stdout.splitlines() for lang in json.loads(line)["languages"]}
    result = runner.invoke(cli, ["tts", "Hello there friend.", "-o", str(tmp_path / "v.wav"), "--voice", voice, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["voice"] == voice and (tmp_path / "v.wav").stat().st_size > 1000


def test_tts_list_variants(runner) -> None:  # noqa: ANN001
    plain = runner.invoke(cli, ["tts", "--list-variants"])
    assert plain.exit_code == 0 and {"f3", "m3", "whisper"} <= set(plain.stdout.split())
    rows = [json.loads(line) for line in runner.invoke(cli, ["tts", "--list-variants", "--json"]).stdout.splitlines()]
    assert {"variant": "f3"} in rows


def test_bench_io_reports_every_format(runner) -> None:  # noqa: ANN001
    result = runner.invoke(cli, ["bench", "io", "--duration", "1", "--repeats", "1", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures["decode_x_realtime"]) == {"wav", "flac", "mp3", "ogg", "opus", "m4a"}
    assert all(v > 0 for v in figures["decode_x_realtime"].values()) and figures["tts_x_realtime"] > 0


def test_a_closed_output_pipe_ends_the_listing_quietly() -> None:
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already read what it wants: every write fails with EPIPE
    try:
        done = subprocess.run([sys.executable, "-m", "guard.cli", "tts", "--list-voices"], stdout=write_end,
                              stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 0 and done.stderr == b""


def test_info_truncated_wav_is_one_error_line(runner, tmp_path: Path) -> None:  # noqa: ANN001
    whole = save(tmp_path / "whole.wav", tone(440, 2.0), sample_rate=SR).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[:len(whole) // 2])
    res = runner.invoke(cli, ["info", str(cut), "--json"])
    assert res.exit_code == 1
    assert res.stderr.count("\n") == 1 and "cut.wav: truncated (header promises 2.000 s" in res.stderr
