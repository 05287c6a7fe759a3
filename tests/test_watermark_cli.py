"""`voiceguard watermark embed|verify`: files, keys from the home, JSON contract, one Error line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from guard.audio import load, save
from guard.cli import cli

SR = 22050


@pytest.fixture(scope="module")
def speech_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cloner.tts import synthesize

    y = synthesize("Every clip we make carries a mark and a signed record, so anyone can check where "
                   "a voice came from and who agreed to it.", voice="en-us", sample_rate=SR)
    return save(tmp_path_factory.mktemp("wm") / "speech.wav", y, sample_rate=SR)


def test_embed_then_verify_json(runner, home, speech_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "marked.flac"
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(speech_file), "-o", str(out),
                            "--payload", "0xC0FFEE", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["payload"] == "00c0ffee" and info["snr_db"] > 22
    assert load(out, sample_rate=SR).shape == load(speech_file, sample_rate=SR).shape
    r = runner.invoke(cli, ["watermark", "verify", str(out), str(speech_file), "--json", "--home", str(home.root)])
    assert r.exit_code == 0, r.output
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [d["detected"] for d in lines] == [True, False]
    assert lines[0]["payload"] == "00c0ffee" and lines[0]["file"] == str(out) and lines[0]["p_value"] < 1e-6
    assert lines[1]["payload"] is None and lines[1]["segments"] == []
    assert {"file", "detected", "payload", "p_value", "segments"} <= set(lines[1])


def test_human_output_and_rotated_key(runner, home, speech_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "m.wav"
    assert runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(speech_file), "-o", str(out),
                               "--payload", "1234abcd"]).exit_code == 0
    from guard.watermark.rotation import rotate_key

    rotate_key(home, reason="yearly")  # the clip was marked with the key before: still found
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "verify", str(out)])
    assert r.exit_code == 0 and "watermark found" in r.stderr and "1234abcd" in r.stderr and r.stdout == ""


def test_embed_that_does_not_read_back_writes_nothing(runner, home, speech_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    # a mark far below its default strength (or on audio with nothing in the speech band) is
    # encoded, read back, found wanting and never written: no "marked" file that is not
    folder = tmp_path / "out"
    folder.mkdir()
    hum = save(folder / "hum.wav", (0.3 * np.sin(2 * np.pi * 50 * np.arange(5 * SR) / SR)).astype(np.float32),
               sample_rate=SR)
    for source, extra in ((speech_file, ["--strength", "0.01"]), (hum, [])):
        out = folder / "o.wav"
        r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(source), "-o", str(out), *extra])
        assert r.exit_code == 1, r.output
        errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "read back" in errors[0] and "nothing was written" in errors[0], r.stderr
        assert not out.exists() and sorted(p.name for p in folder.iterdir()) == ["hum.wav"]
    # OUT = IN: the input survives a failed check byte for byte
    before = hum.read_bytes()
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(hum), "-o", str(hum), "--force"])
    assert r.exit_code == 1 and hum.read_bytes() == before


def test_embed_writes_through_a_link(runner, home, speech_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    target = tmp_path / "real.wav"
    target.write_bytes(b"old")
    link = tmp_path / "link.wav"
    link.symlink_to(target)
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(speech_file), "-o", str(link), "--force"])
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and load(target, sample_rate=SR).shape == load(speech_file, sample_rate=SR).shape


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_embed_over_a_file_keeps_its_permissions(runner, home, speech_file: Path, tmp_path: Path,
                                                 mode: int) -> None:  # noqa: ANN001
    out = tmp_path / "private.wav"
    out.write_bytes(b"old")
    out.chmod(mode)
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(speech_file), "-o", str(out)])
    assert r.exit_code == 1 and "already exists" in r.stderr and out.read_bytes() == b"old"  # not unasked
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(speech_file), "-o", str(out), "--force"])
    assert r.exit_code == 0, r.output
    assert out.stat().st_mode & 0o777 == mode and load(out, sample_rate=SR).shape[0] > 0


def test_embed_errors_name_the_output_the_user_gave(runner, home, speech_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "out"
    folder.mkdir()
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(speech_file), "-o", str(folder / "noext")])
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert r.exit_code == 1 and len(errors) == 1 and f"{folder / 'noext'}: has no extension" in errors[0]
    assert list(folder.iterdir()) == []


def test_embed_says_what_the_format_changed(runner, home, speech_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    import soundfile as sf

    stereo = tmp_path / "stereo.wav"
    y = load(speech_file, sample_rate=SR)
    sf.write(stereo, np.stack([y, 0.5 * y], axis=1), SR)
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(stereo), "-o", str(tmp_path / "m.opus"),
                            "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["sample_rate"] == 48000 and any("mixed to mono" in n for n in d["notes"])
    assert any("decodes at 48000 Hz, not 22050 Hz" in n for n in d["notes"])


def test_verify_json_reports_unreadable_files(runner, home, speech_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "verify", str(tmp_path / "gone.wav"),
                            str(speech_file), "--json"])
    assert r.exit_code == 1
    first, second = (json.loads(line) for line in r.stdout.splitlines())
    assert first["file"].endswith("gone.wav") and "not found" in first["error"]
    assert second["detected"] is False and second["file"] == str(speech_file)


@pytest.mark.parametrize(("args", "message"), [
    (["--payload", "xyz"], "must be hexadecimal"),
    (["--payload", "-1"], "must be hexadecimal"),
    (["--payload", "0x"], "must be hexadecimal"),
    (["--payload", "123456789"], "32 bits"),
    (["--strength", "3"], "within (0, 1]"),
    (["--strength", "0"], "within (0, 1]"),
    (["--strength", "nan"], "within (0, 1]"),
])
def test_bad_options_are_usage_errors(runner, home, tmp_path: Path, args: list[str], message: str) -> None:  # noqa: ANN001
    # checked before anything is decoded: the input need not even exist
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(tmp_path / "in.wav"),
                            "-o", str(tmp_path / "o.wav"), *args])
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output


def test_other_home_does_not_detect(runner, home, speech_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    from guard.home import init_home

    other, _ = init_home(tmp_path / "other")
    out = tmp_path / "m.wav"
    runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(speech_file), "-o", str(out)])
    r = runner.invoke(cli, ["--home", str(other.root), "watermark", "verify", str(out), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["detected"] is False


@pytest.mark.parametrize(("args", "message"), [
    (["embed", "{tmp}/missing.wav", "-o", "{tmp}/o.wav"], "missing.wav"),
    (["embed", "{short}", "-o", "{tmp}/o.wav"], "at least"),
    (["embed", "{silent}", "-o", "{tmp}/o.wav"], "nothing to mark"),
    (["verify", "{tmp}/missing.wav"], "missing.wav"),
])
def test_errors_are_one_line(runner, home, speech_file: Path, tmp_path: Path, args: list[str], message: str) -> None:  # noqa: ANN001
    short = save(tmp_path / "short.wav", np.zeros(SR, np.float32) + 0.1, sample_rate=SR)
    silent = save(tmp_path / "silent.wav", np.zeros(5 * SR, np.float32), sample_rate=SR)
    subs = {"speech": str(speech_file), "tmp": str(tmp_path), "short": str(short), "silent": str(silent)}
    argv = ["--home", str(home.root), "watermark"] + [a.format(**subs) for a in args]
    r = runner.invoke(cli, argv)
    assert r.exit_code == 1, r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in r.output
    assert not (tmp_path / "o.wav").exists()


def test_needs_a_home(runner, speech_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    r = runner.invoke(cli, ["--home", str(tmp_path / "nohome"), "watermark", "verify", str(speech_file)])
    assert r.exit_code == 1 and "voiceguard init" in r.stderr


def test_bench_watermark_small_run(runner, tmp_path: Path) -> None:  # noqa: ANN001
    r = runner.invoke(cli, ["bench", "watermark", "--n-clips", "1", "--duration", "4", "--attacks", "moderate",
                            "--fpr-windows", "3", "--json", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    results = json.loads(r.stdout)
    assert results["n_clips"] == 1 and results["false_alarms"]["windows"] == 3
    assert results["attacks"]["none"]["payload_rate"] == 1.0 and len(results["attacks"]) == 14
    assert results["quality"]["snr_db"]["mean"] > 20 and results["speed_x_realtime"]["embed"] > 0
    none = results["attacks"]["none"]
    assert none["windows_3s_speech"] in (0, 1)  # one 3 s window per attack, counted when mostly speech
    assert none["presence_tpr_3s_speech"] == (none["presence_tpr_3s"] if none["windows_3s_speech"] else None)
    # every 3 s window at 1 s steps of the 4 s clip: at 0 and 1 s
    assert none["windows_3s_every"] == 2 and none["presence_tpr_3s_every"] == 1.0
    assert 0 <= none["windows_3s_every_speech"] <= 2
    splice = results["attacks"]["splice"]  # read in the marked part only, not the unmarked padding
    assert splice["windows_3s_every"] == 2
    assert set(results["localization"]) == {"2s"}  # a 4 s clip has no room for a 3 s piece and 1 s either side
    assert 0.0 <= results["localization"]["2s"]["iou_median"] <= 1.0
    assert (tmp_path / "watermark.json").is_file() and (tmp_path / "watermark.png").is_file()


def test_bench_watermark_missing_clips_folder(runner, tmp_path: Path) -> None:  # noqa: ANN001
    r = runner.invoke(cli, ["bench", "watermark", "--clips", str(tmp_path / "none"), "--n-clips", "1"])
    assert r.exit_code == 1 and "Error:" in r.stderr and "none" in r.stderr


def test_bench_watermark_clips_and_cloned_exclude_each_other(runner, tmp_path: Path) -> None:  # noqa: ANN001
    r = runner.invoke(cli, ["bench", "watermark", "--clips", str(tmp_path), "--cloned", "--n-clips", "1"])
    assert r.exit_code == 2 and "--clips and --cloned" in r.stderr


def test_bench_windows_are_cut_from_the_marked_part() -> None:
    from eval.watermark_clips import RATE
    from eval.watermark_measure import _marked_part

    z = np.arange(14 * RATE, dtype=np.float32)  # a 10 s clip spliced between 2 s of padding each side
    inside = _marked_part("splice", z)
    assert inside.shape[0] == 10 * RATE and inside[0] == 2 * RATE
    assert _marked_part("mp3_32k", z) is z


def test_bench_watermark_speech_windows_after_a_crop(runner) -> None:  # noqa: ANN001
    # a crop is not aligned with the marked clip: its window's speech is judged on itself
    r = runner.invoke(cli, ["bench", "watermark", "--n-clips", "1", "--duration", "4", "--attacks", "crop_3s",
                            "--fpr-windows", "0", "--json"])
    assert r.exit_code == 0, r.output
    crop = json.loads(r.stdout)["attacks"]["crop_3s"]
    assert crop["windows_3s_speech"] == 1 and crop["presence_tpr_3s_speech"] == crop["presence_tpr_3s"] == 1.0


def test_speech_activity_finds_speech_and_pauses(speech) -> None:  # noqa: ANN001
    from eval.speech_activity import FRAME, RATE, speech_frames, speech_share

    rng = np.random.default_rng(0)
    pause = rng.normal(0.0, 3e-4, 2 * RATE).astype(np.float32)  # room noise some 50 dB under the speech
    clip = np.concatenate([pause, speech])
    frames = speech_frames(clip)
    assert frames.shape == (clip.shape[0] // FRAME,)
    assert speech_share(frames, 0, 2 * RATE) == 0.0
    assert speech_share(frames, 2 * RATE, speech.shape[0]) >= 0.9
    assert speech_share(frames, 0, clip.shape[0]) == pytest.approx(frames.mean(), abs=0.02)
    # the decisions do not depend on the recording level
    assert np.array_equal(speech_frames(0.05 * clip), frames)
    assert speech_share(frames, clip.shape[0], RATE) == 0.0  # a window past the end holds no frame
    assert not speech_frames(np.zeros(RATE, dtype=np.float32)).any()
    assert speech_frames(np.zeros(0, dtype=np.float32)).shape == (0,)


def test_speech_activity_refuses_other_rates() -> None:
    from eval.speech_activity import speech_frames
    from guard.errors import ParameterError

    with pytest.raises(ParameterError, match="16000"):
        speech_frames(np.zeros(8000, dtype=np.float32), sample_rate=8000)


def test_bench_watermark_unknown_attack_name(runner) -> None:  # noqa: ANN001
    r = runner.invoke(cli, ["bench", "watermark", "--attacks", "splice,no_such_attack", "--n-clips", "1"])
    assert r.exit_code == 2 and "no_such_attack" in r.stderr and "Traceback" not in r.stderr


def test_verify_speed_search(runner, home, speech_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    from guard.audio import resample

    out = tmp_path / "marked.wav"
    assert runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(speech_file), "-o", str(out),
                               "--payload", "0badcafe"]).exit_code == 0
    faster = save(tmp_path / "faster.wav", resample(load(out, sample_rate=SR), orig_sr=round(SR * 1.041), target_sr=SR),
                  sample_rate=SR)  # played 4 % fast: pitch and tempo up together
    plain = runner.invoke(cli, ["--home", str(home.root), "watermark", "verify", str(faster), "--json"])
    assert plain.exit_code == 0 and json.loads(plain.stdout)["detected"] is False
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "verify", str(faster), "--json", "--speed-search"])
    d = json.loads(r.stdout)
    assert r.exit_code == 0 and d["detected"] and d["payload"] == "0badcafe" and abs(d["speed"] - 1.041) <= 0.005
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "verify", str(faster), "--speed-search"])
    assert r.exit_code == 0 and "0badcafe" in r.stderr and "played at x1.0" in r.stderr


def test_bench_watermark_speed_search(runner) -> None:  # noqa: ANN001
    # with the speed search every verification looks at other playback speeds too: x1.05 is found
    r = runner.invoke(cli, ["bench", "watermark", "--n-clips", "1", "--duration", "6", "--attacks", "speed_1.05",
                            "--fpr-windows", "2", "--speed-search", "--json"])
    assert r.exit_code == 0, r.output
    results = json.loads(r.stdout)
    assert results["speed_search"] is True and results["false_alarms"]["presence"] == 0
    assert results["attacks"]["speed_1.05"]["payload_rate"] == 1.0 and "speed search" in results["corpus"]


def _clip_folder(folder: Path, speech: np.ndarray) -> Path:
    """Two usable speech files among six a real corpus may hold that cannot be used."""
    import soundfile as sf

    (folder / "sub").mkdir(parents=True)
    save(folder / "good1.wav", speech, sample_rate=16000)
    save(folder / "sub" / "good2.flac", speech[::-1].copy(), sample_rate=16000)
    (folder / "empty.wav").write_bytes(b"")
    bad = np.full(16000, 0.1, dtype=np.float32)
    bad[5] = np.nan
    sf.write(folder / "nan.wav", bad, 16000, subtype="FLOAT")
    (folder / "text.wav").write_text("not audio\n")
    save(folder / "tiny.wav", speech[:10], sample_rate=16000)
    save(folder / "short.wav", speech[:8000], sample_rate=16000)  # 0.5 s: would be looped 7 times
    save(folder / "silent.wav", np.zeros(3 * 16000, dtype=np.float32), sample_rate=16000)
    (folder / "broken.wav").symlink_to(folder / "gone.wav")
    return folder


def test_bench_folder_clips_skip_and_name_bad_files_and_draw_others(tmp_path: Path, speech: np.ndarray) -> None:
    from eval.watermark_clips import folder_clips

    folder = _clip_folder(tmp_path / "clips", speech)
    for seed in range(4):  # whatever order the seed draws: the good files are found, every bad one named
        skipped: list[tuple[str, str]] = []
        clips = list(folder_clips(folder, 3, duration_s=3.5, seed=seed, on_skip=lambda p, r, out=skipped: out.append((p.name, r))))
        assert sorted(name for name, _ in clips) == ["good1.wav", "sub/good2.flac"]
        assert all(y.shape == (56000,) and np.all(np.isfinite(y)) for _, y in clips)
        reasons = dict(skipped)
        assert set(reasons) == {"empty.wav", "nan.wav", "text.wav", "tiny.wav", "short.wav", "silent.wav", "broken.wav"}
        assert "leads to no file" in reasons["broken.wav"]
        assert "empty" in reasons["empty.wav"] and "NaN" in reasons["nan.wav"] and "not an audio" in reasons["text.wav"]
        assert "0.001 s long" in reasons["tiny.wav"] and "0.500 s long" in reasons["short.wav"]
        assert "silent" in reasons["silent.wav"]
    # one clip asked for: a bad file drawn first is replaced by a good one
    skipped = []
    clips = list(folder_clips(folder, 1, duration_s=3.5, seed=1, on_skip=lambda p, r: skipped.append(p.name)))
    assert len(clips) == 1 and clips[0][0] in ("good1.wav", "sub/good2.flac")


def test_bench_folder_clips_of_only_bad_files(tmp_path: Path) -> None:
    from eval.watermark_clips import folder_clips
    from guard.errors import DatasetError

    (tmp_path / "a.wav").write_bytes(b"")
    save(tmp_path / "b.wav", np.zeros(32000, dtype=np.float32), sample_rate=16000)
    with pytest.raises(DatasetError, match="none of its 2 audio files could be used"):
        list(folder_clips(tmp_path, 1, duration_s=3.5, seed=0))


def test_bench_watermark_clips_folder_with_bad_files(runner, tmp_path: Path, speech: np.ndarray) -> None:  # noqa: ANN001
    folder = _clip_folder(tmp_path / "clips", speech)
    r = runner.invoke(cli, ["bench", "watermark", "--clips", str(folder), "--n-clips", "3", "--duration", "3.5",
                            "--attacks", "none", "--fpr-windows", "0", "--json", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    results = json.loads(r.stdout)
    assert results["n_clips"] == 2 and results["attacks"]["none"]["payload_rate"] == 1.0
    assert sorted(Path(s["file"]).name for s in results["skipped"]) == [
        "broken.wav", "empty.wav", "nan.wav", "short.wav", "silent.wav", "text.wav", "tiny.wav"]
    assert all(s["reason"] for s in results["skipped"])
    assert json.loads((tmp_path / "out" / "watermark.json").read_text())["skipped"] == results["skipped"]
    for name in ("broken.wav", "empty.wav", "nan.wav", "silent.wav", "tiny.wav"):
        assert f"{name}:" in r.stderr
    assert "only 2 of the 3 clips" in r.stderr and "Traceback" not in r.output


def test_bench_silent_clip_error_names_the_clip() -> None:
    from eval.watermark_measure import evaluate
    from guard.errors import WatermarkError

    with pytest.raises(WatermarkError, match=r"^clip quiet\.wav: nothing to mark"):
        evaluate([("quiet.wav", np.zeros(4 * 16000, dtype=np.float32))], attacks=["none"], fpr_windows=0, seed=0,
                 silent=True)


def test_bench_watermark_repeated_attack_counts_once(runner) -> None:  # noqa: ANN001
    args = ["bench", "watermark", "--n-clips", "1", "--duration", "4", "--fpr-windows", "0", "--json"]
    once = runner.invoke(cli, [*args, "--attacks", "none"])
    twice = runner.invoke(cli, [*args, "--attacks", "none, none,none"])
    assert once.exit_code == twice.exit_code == 0, twice.output
    a, b = json.loads(once.stdout)["attacks"]["none"], json.loads(twice.stdout)["attacks"]["none"]
    assert b["windows_3s_every"] == a["windows_3s_every"] == 2 and a == b


def test_bench_watermark_5s_payload_is_na_for_shorter_clips(runner) -> None:  # noqa: ANN001
    args = ["bench", "watermark", "--n-clips", "1", "--attacks", "none", "--fpr-windows", "0"]
    r = runner.invoke(cli, [*args, "--duration", "4", "--json"])
    assert r.exit_code == 0, r.output
    none = json.loads(r.stdout)["attacks"]["none"]
    assert none["payload_rate_5s"] is None and none["windows_5s"] == 0
    r = runner.invoke(cli, [*args, "--duration", "4"])
    row = next(line for line in r.stderr.splitlines() if line.startswith("none "))
    assert row.rstrip().endswith("n/a")
    r = runner.invoke(cli, [*args, "--duration", "5.5", "--json"])
    none = json.loads(r.stdout)["attacks"]["none"]
    assert none["payload_rate_5s"] == 1.0 and none["windows_5s"] == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--clips", ""], "empty path"),
    (["--duration", "nan"], "not a finite number"),
    (["--duration", "inf"], "not in the range"),
    (["--seed", "-1"], "not in the range"),
])
def test_bench_watermark_bad_option_values(runner, args: list[str], message: str) -> None:  # noqa: ANN001
    r = runner.invoke(cli, ["bench", "watermark", "--n-clips", "1", *args])
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output


def test_embed_refuses_a_payload_that_names_a_generated_clip(runner, home, speech_file: Path,
                                                             tmp_path: Path) -> None:  # noqa: ANN001
    from datetime import date, timedelta

    from conftest import marked_noise

    from guard import consent, provenance

    grant = consent.grant(home, voice_id="amy", subject="Amy", operator="Lab", purposes=["research"],
                          expires=date.today() + timedelta(days=9), license_text="CC BY 4.0")
    clip = marked_noise(tmp_path / "clip.wav", home.watermark_key(), 0x4ECE1A32)
    record = provenance.issue(home, payload=0x4ECE1A32, voice_id="amy", consent_id=grant.consent_id, text="Hi.",
                              audio_path=clip, generator="test", generator_version="1")
    out = tmp_path / "framed.wav"
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(speech_file), "-o", str(out),
                            "--payload", "4ece1a32"])
    assert r.exit_code == 1 and not out.exists()
    assert f"payload 4ece1a32 belongs to generated clip record {record.record_id} (voice amy)" in r.stderr
    r = runner.invoke(cli, ["--home", str(home.root), "watermark", "embed", str(speech_file), "-o", str(out), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["payload"] != "4ece1a32"


def test_folder_clips_judges_silence_in_the_clip_as_cut(tmp_path: Path) -> None:
    from conftest import voiced_glide

    from eval.watermark_clips import folder_clips
    from guard.errors import DatasetError

    late = np.concatenate([np.zeros(12 * 16000, np.float32), np.tile(voiced_glide(), 4)])  # speech after 12 s
    save(tmp_path / "late_speech.wav", late, sample_rate=16000)
    skipped: list[str] = []
    with pytest.raises(DatasetError, match="none of its one audio file could be used"):
        list(folder_clips(tmp_path, 1, duration_s=10.0, seed=0, on_skip=lambda p, r: skipped.append(r)))
    assert skipped == ["silent in its first 10 s: nothing to mark (no speech-band energy above -75 dBFS)"]
