"""`voiceguard bench false-alarms`: voices found, words joined into clips, flags counted, bad input named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import untrained_model_file

from guard.audio import save
from guard.cli import cli
from guard.detect.calibration import Calibration
from guard.detect.features import FeatureConfig
from guard.detect.model import ModelConfig
from guard.errors import DatasetError

SR = 16000


def _words(folder: Path, n: int, *, seed: int, seconds: float = 0.4) -> None:
    """``n`` seeded word-length clips (a harmonic buzz under a noise floor) in ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    t = np.arange(int(seconds * SR)) / SR
    for i in range(n):
        f0 = rng.uniform(100, 220)
        y = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12)) * np.hanning(t.size)
        save(folder / f"w{i:02d}.wav", (0.1 * y + 0.005 * rng.standard_normal(t.size)).astype(np.float32), sample_rate=SR)


@pytest.fixture
def voices(tmp_path: Path) -> Path:
    root = tmp_path / "real"
    _words(root / "lang-a" / "alpha", 30, seed=1)
    _words(root / "lang-b", 26, seed=2)
    _words(root / "too-few", 5, seed=3)
    (root / "lang-b" / "broken.wav").write_bytes(b"not audio at all")
    return root


def _model(tmp_path: Path, offset: float) -> Path:
    # scale 0: every clip gets p_synthetic = sigmoid(offset), whatever the net says
    return untrained_model_file(tmp_path / f"m{offset}.pt", FeatureConfig(kind="linspec", n_filters=32),
                                ModelConfig(channels=(8, 16)), calibration=Calibration(0.0, offset))


def test_voices_are_folders_with_enough_files(voices: Path) -> None:
    from eval.bench_false_alarms import find_voices

    found = find_voices([voices], min_files=25)
    assert [v.name for v in found] == ["real/lang-a/alpha", "real/lang-b"]
    assert len(found[1].files) == 27  # the unreadable file is still a file with an audio name
    with pytest.raises(DatasetError, match="no folder with 40 or more audio files"):
        find_voices([voices], min_files=40)
    with pytest.raises(DatasetError, match="no such folder of real speech"):
        find_voices([voices / "nowhere"], min_files=1)


def test_clips_join_words_with_pauses_up_to_the_length_and_count(voices: Path) -> None:
    from eval.bench_false_alarms import find_voices, voice_clips

    voice = find_voices([voices], min_files=25)[0]
    clips = voice_clips(voice, clip_s=2.0, max_clips=3, seed=0)
    assert len(clips) == 3 and all(2.0 * SR <= c.shape[0] < 2.6 * SR for c in clips)  # 0.6 s per word and pause
    again = voice_clips(voice, clip_s=2.0, max_clips=3, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(clips, again))
    assert not np.array_equal(voice_clips(voice, clip_s=2.0, max_clips=1, seed=1)[0], clips[0])
    # four words of 0.6 s (with their pauses) reach 2 s: 30 words make 7 clips, the 2 left over are dropped
    assert len(voice_clips(voice, clip_s=2.0, max_clips=100, seed=0)) == 7


@pytest.mark.parametrize(("offset", "threshold", "flagged"), [(4.0, 0.5, True), (4.0, 0.99, False), (-4.0, 0.5, False)])
def test_run_counts_flags_per_voice_and_pooled(voices: Path, tmp_path: Path, offset: float, threshold: float,
                                               flagged: bool) -> None:
    from eval.bench_false_alarms import run

    # 10 clips at most: every word gets read (30 -> 7 clips, 26 readable -> 6), so the broken file is met
    res = run([voices], model=_model(tmp_path, offset), min_files=25, clip_s=2.0, max_clips=10, threshold=threshold,
              seed=0, quiet=True)
    assert [r["clips"] for r in res["voices"]] == [7, 6] and res["clips"] == 13
    assert res["flagged"] == (13 if flagged else 0) and res["pooled_rate"] == (1.0 if flagged else 0.0)
    assert [u["file"] for u in res["unreadable"]] == [str(voices / "lang-b" / "broken.wav")]


def test_cli_prints_table_writes_json_and_plot_and_names_the_unreadable_file(runner, voices: Path, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "out"
    res = runner.invoke(cli, ["bench", "false-alarms", "--root", str(voices), "--model", str(_model(tmp_path, 4.0)),
                              "--clip-s", "2", "--clips", "10", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "skipped unreadable" in res.stderr and "broken.wav" in res.stderr
    assert "pooled: 13 of 13 clips flagged (100.0%); unreadable files skipped: 1" in res.stderr
    assert res.stdout == ""  # the table is for people: stderr
    saved = json.loads((out / "results.json").read_text())
    assert saved["pooled_rate"] == 1.0 and (out / "false_alarms.png").stat().st_size > 1000
    res = runner.invoke(cli, ["bench", "false-alarms", "--root", str(voices), "--model", str(_model(tmp_path, 4.0)),
                              "--clip-s", "2", "--clips", "2", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["clips"] == 4


def test_overlapping_roots_give_each_folder_once(voices: Path) -> None:
    from eval.bench_false_alarms import find_voices

    found = find_voices([voices, voices / "lang-b", voices / ".." / "real"], min_files=25)
    assert sorted(len(v.files) for v in found) == [27, 30]


def test_a_voice_of_unreadable_files_alone_is_refused(tmp_path: Path) -> None:
    from eval.bench_false_alarms import run

    root = tmp_path / "broken"
    root.mkdir()
    for i in range(3):
        (root / f"b{i}.wav").write_bytes(b"RIFF but not really")
    with pytest.raises(DatasetError, match=r"no clip of 3 s could be made from 1 voice folders \(3 unreadable files\)"):
        run([root], model=_model(tmp_path, 0.0), min_files=1, clip_s=3.0, max_clips=5, threshold=0.5, seed=0, quiet=True)


@pytest.mark.parametrize(("args", "match"), [
    (["--root", "{tmp}/nowhere"], "no such folder of real speech"),
    (["--root", "{voices}", "--model", "{tmp}/none.pt"], "none.pt"),
    (["--root", "{voices}", "--min-files", "100"], "no folder with 100 or more audio files"),
])
def test_cli_bad_input_is_one_line(runner, voices: Path, tmp_path: Path, args: list, match: str) -> None:  # noqa: ANN001
    args = [a.format(tmp=tmp_path, voices=voices) for a in args]
    res = runner.invoke(cli, ["bench", "false-alarms", *args])
    assert res.exit_code == 1 and match in res.output and "Traceback" not in res.output


def test_cli_without_real_speech_installed_says_what_to_install(runner, monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
                                                                 tmp_path: Path) -> None:
    import eval.bench_false_alarms as bench

    monkeypatch.setattr(bench, "DEFAULT_ROOTS", (tmp_path / "no-klettres", tmp_path / "no-ktuberling"))
    res = runner.invoke(cli, ["bench", "false-alarms"])
    assert res.exit_code == 1 and "install klettres-data and ktuberling-data, or give --root DIR" in res.output


def test_quiet_prints_nothing_and_json_is_alone_on_stdout(runner, voices: Path, tmp_path: Path) -> None:  # noqa: ANN001
    args = ["bench", "false-alarms", "--root", str(voices), "--model", str(_model(tmp_path, 4.0)), "--clip-s", "2",
            "--clips", "2"]
    res = runner.invoke(cli, [*args, "-q"])
    assert res.exit_code == 0, res.output
    assert res.stdout == "" and res.stderr == ""
    res = runner.invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["clips"] == 4 and "pooled" not in res.stderr


def test_skipped_file_is_named_once(runner, voices: Path, tmp_path: Path) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "false-alarms", "--root", str(voices), "--model", str(_model(tmp_path, 4.0)),
                              "--clip-s", "2", "--clips", "10"])
    line = next(x for x in res.stderr.splitlines() if "broken.wav" in x)
    assert line.count("broken.wav") == 1, line


@pytest.mark.parametrize(("args", "message"), [
    (["--threshold", "nan"], "not a finite number"),
    (["--clip-s", "nan"], "not a finite number"),
    (["--clip-s", "inf"], "not in the range"),
    (["--seed", "-1"], "not in the range"),
    (["--root", ""], "empty path"),
])
def test_bad_option_values_are_usage_errors(runner, voices: Path, args: list[str], message: str) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "false-alarms", "--root", str(voices), *args])
    assert res.exit_code == 2, res.output
    assert message in res.stderr and "Traceback" not in res.output
