"""Enrollment refuses every bad input with one clear error and leaves the home untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from clone_support import SR, grant_statement, record_script

from cloner import enroll, script
from cloner.convert import ConvertConfig
from cloner.recordings import read_recordings
from guard.errors import CloneError, ConsentError, ParameterError, TTSError

FAST = ConvertConfig(steps=2, batch=2, hidden=8)


@pytest.fixture(scope="module")
def short_recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six sentences by persona nova: about 20 s, under the 60 s minimum."""
    return record_script(tmp_path_factory.mktemp("short"), "nova", script.SENTENCES[:6])


@pytest.fixture(scope="module")
def granted(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A home where persona nova consented (statement) as voice "nova"; nothing enrolled."""
    from guard.home import init_home

    work = tmp_path_factory.mktemp("granted")
    home, _ = init_home(work / "home")
    return home, grant_statement(home, "nova", "nova", work), work


def _untouched(home) -> None:  # noqa: ANN001
    assert list(home.voices_dir.iterdir()) == []


def test_unknown_consent(home, short_recordings: Path) -> None:  # noqa: ANN001
    with pytest.raises(ConsentError):
        enroll.enroll(home, "nova", recordings_dir=short_recordings, consent_id="no-such-consent", config=FAST, progress=False)
    _untouched(home)


def test_consent_for_another_voice(granted, short_recordings: Path) -> None:  # noqa: ANN001
    home, record, _ = granted
    with pytest.raises(ConsentError, match=f"{record.consent_id} is for voice 'nova', not 'someone-else'"):
        enroll.enroll(home, "someone-else", recordings_dir=short_recordings, consent_id=record.consent_id,
                      config=FAST, progress=False)
    _untouched(home)


def test_revoked_consent(home, short_recordings: Path, tmp_path: Path) -> None:  # noqa: ANN001
    from guard import consent

    record = grant_statement(home, "nova", "nova", tmp_path)  # a home of its own: the same agreement twice is refused
    consent.revoke(home, record.consent_id, reason="changed my mind")
    with pytest.raises(ConsentError, match="revoked"):
        enroll.enroll(home, "nova", recordings_dir=short_recordings, consent_id=record.consent_id, config=FAST, progress=False)
    _untouched(home)


def test_too_little_speech(granted, short_recordings: Path) -> None:  # noqa: ANN001
    home, record, _ = granted
    with pytest.raises(CloneError, match=r"only \d+\.\d s of speech in 6 file\(s\); enrollment needs at least 60 s"):
        enroll.enroll(home, "nova", recordings_dir=short_recordings, consent_id=record.consent_id, config=FAST, progress=False)
    _untouched(home)


def test_bad_recording_is_named(granted, short_recordings: Path, tmp_path: Path) -> None:  # noqa: ANN001
    home, record, _ = granted
    folder = tmp_path / "rec"
    shutil.copytree(short_recordings, folder)
    (folder / "03.txt").unlink()
    (folder / "04.wav").write_bytes(b"RIFF\x00\x00")
    with pytest.raises(CloneError, match="2 bad recording") as info:
        enroll.enroll(home, "nova", recordings_dir=folder, consent_id=record.consent_id, config=FAST, progress=False)
    assert "03.wav: transcript 03.txt is missing" in str(info.value) and "04.wav: unreadable audio" in str(info.value)
    _untouched(home)


def test_mismatched_transcript_is_named(short_recordings: Path, tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    shutil.copytree(short_recordings, folder)
    (folder / "02.txt").write_text(script.SENTENCES[40] + "\n")  # words the speaker never said
    recs = read_recordings(folder)
    with pytest.raises(CloneError, match=r"do not match their audio.*02\.txt") as info:
        enroll.train_voice(recs, voice_id="nova", consent_id="c", language="en-us", config=FAST, seed=0, progress=False)
    assert "01.txt" not in str(info.value) and "03.txt" not in str(info.value)


def test_matching_transcripts_align_cheaply(short_recordings: Path) -> None:
    from cloner import tts, world

    recs = read_recordings(short_recordings)
    src = [world.analyze(enroll.trim(tts.synthesize(r.text, sample_rate=SR), sample_rate=SR), sample_rate=SR) for r in recs]
    tgt = [world.analyze(enroll.trim(r.y, sample_rate=SR), sample_rate=SR) for r in recs]
    alignments = enroll.refine_alignments(src, tgt)
    assert enroll.mismatched_transcripts([r.name for r in recs], alignments) == []
    assert all(np.all(np.diff(a.source_to_target) >= 0) for a in alignments)


def test_bad_arguments(granted, short_recordings: Path) -> None:  # noqa: ANN001
    home, record, _ = granted
    with pytest.raises(ParameterError, match="voice id"):
        enroll.enroll(home, "../escape", recordings_dir=short_recordings, consent_id=record.consent_id, progress=False)
    with pytest.raises(TTSError, match="no voice"):
        enroll.enroll(home, "nova", recordings_dir=short_recordings, consent_id=record.consent_id,
                      language="xx-nowhere", progress=False)
    with pytest.raises(CloneError, match="does not exist"):
        enroll.enroll(home, "nova", recordings_dir=short_recordings / "missing", consent_id=record.consent_id,
                      progress=False)
    _untouched(home)


def test_cli_errors_are_one_line(runner, home, short_recordings: Path) -> None:  # noqa: ANN001
    from guard.cli import cli

    usage = runner.invoke(cli, ["enroll", "nova", "--home", str(home.root)])
    assert usage.exit_code == 2
    result = runner.invoke(cli, ["enroll", "nova", "--recordings", str(short_recordings), "--consent", "nope",
                                 "--home", str(home.root), "-q"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    _untouched(home)


def test_speaker_must_match_the_statement(granted, short_recordings: Path, tmp_path: Path) -> None:  # noqa: ANN001
    _, record, _ = granted
    enroll.check_speaker(record, sorted(short_recordings.glob("*.wav")))  # nova read the statement: passes
    other = record_script(tmp_path / "orson", "orson", script.SENTENCES[:4])
    with pytest.raises(ConsentError, match="does not match the consent statement"):
        enroll.check_speaker(record, sorted(other.glob("*.wav")))


@pytest.mark.parametrize("n", [6, 30])
def test_all_transcripts_shifted_is_refused(rng: np.random.Generator, n: int) -> None:
    """Every recording is paired with the next file's rendering: none stands out, the set as a whole is refused."""
    from cloner import align, transcripts, world

    def smooth(t: int) -> np.ndarray:
        return np.cumsum(rng.standard_normal((t, 25)), axis=0)

    target = [world.WorldFeatures(np.full(t, 120.0), smooth(t), np.zeros((t, 1)), SR) for t in rng.integers(60, 90, n)]
    shifted = [target[(i + 1) % n].mcep for i in range(n)]
    alignments = [align.align(m, t.mcep) for m, t in zip(shifted, target)]
    assert enroll.mismatched_transcripts([f"{i:02d}.txt" for i in range(n)], alignments) == []  # the median is high too
    with pytest.raises(CloneError, match=r"the transcripts do not match their audio: .*cost ratio \d\.\d\d > 0\.96\); "
                                         r"worst: \d\d\.txt \(cost") as info:
        transcripts.check_transcripts([f"{i:02d}.txt" for i in range(n)], shifted, target, alignments)
    assert str(info.value).count(".txt (cost") == 5
    right = [t.mcep + 0.1 * rng.standard_normal(t.mcep.shape) for t in target]
    transcripts.check_transcripts([f"{i:02d}.txt" for i in range(n)], right, target,
                                  [align.align(m, t.mcep) for m, t in zip(right, target)])


def test_right_transcripts_align_far_better_than_shuffled(short_recordings: Path) -> None:
    from cloner import transcripts, tts, world

    recs = read_recordings(short_recordings)
    src = [world.analyze(enroll.trim(tts.synthesize(r.text, sample_rate=SR), sample_rate=SR), sample_rate=SR) for r in recs]
    tgt = [world.analyze(enroll.trim(r.y, sample_rate=SR), sample_rate=SR) for r in recs]
    alignments, mapped = transcripts.refine(src, tgt)
    assert transcripts.shuffled_ratio(mapped, tgt, alignments) < 0.8
    transcripts.check_transcripts([r.name for r in recs], mapped, tgt, alignments)  # passes


@pytest.mark.parametrize(("args", "message"), [
    (["--expires", "notadate"], "'notadate' is not a date YYYY-MM-DD"),
    (["--expires", "9999-12-31"], "more than 10 years ahead"),
    (["--expires", "2027-02-29"], "is not a date that exists"),
    (["--purpose", "marketing"], "'marketing' is not one of"),
])
def test_print_script_bad_statement_options_are_usage_errors(runner, args: list[str], message: str) -> None:  # noqa: ANN001
    from guard.cli import cli

    base = {"--subject": "A", "--operator": "B", "--purpose": "audiobook", "--expires": "2027-06-30"}
    base[args[0]] = args[1]
    result = runner.invoke(cli, ["enroll", "--print-script", *[x for kv in base.items() for x in kv]])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_steps_help_says_it_sets_the_conversion_networks_steps_only(runner) -> None:  # noqa: ANN001
    from guard.cli import cli

    res = runner.invoke(cli, ["enroll", "--help"], terminal_width=200)
    text = " ".join(res.stdout.split())
    assert res.exit_code == 0 and "overrides --fast" not in text
    assert ("--steps INTEGER RANGE Training steps of the conversion network only, in place of the default's or "
            "--fast's; the spectral post-filter trains for its own steps whatever this says (fewer with --fast).") in text


@pytest.mark.parametrize(("args", "steps", "postfilter_steps"), [
    (["--steps", "7"], 7, ConvertConfig().postfilter_steps),
    (["--steps", "7", "--fast"], 7, ConvertConfig.fast().postfilter_steps),
    (["--fast"], ConvertConfig.fast().steps, ConvertConfig.fast().postfilter_steps),
])
def test_steps_sets_the_conversion_networks_steps_only(runner, home, tmp_path: Path, monkeypatch, args: list[str],  # noqa: ANN001
                                                      steps: int, postfilter_steps: int) -> None:
    from guard.cli import cli

    given: list[ConvertConfig] = []

    def stop(*_, config: ConvertConfig, **__) -> None:  # noqa: ANN002, ANN003
        given.append(config)
        raise CloneError("stopped before training")

    monkeypatch.setattr(enroll, "enroll", stop)
    res = runner.invoke(cli, ["--home", str(home.root), "enroll", "amy", "--recordings", str(tmp_path), "--consent",
                              "consent-x", *args])
    assert res.exit_code == 1 and "stopped before training" in res.stderr
    assert (given[0].steps, given[0].postfilter_steps) == (steps, postfilter_steps)


def test_audio_without_an_extension_beside_its_transcript_is_named(short_recordings: Path, tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    shutil.copytree(short_recordings, folder)
    (folder / "02.wav").rename(folder / "02")
    (folder / "notes").write_text("not a take: no notes.txt beside it\n")
    with pytest.raises(CloneError, match="1 bad recording") as info:
        read_recordings(folder)
    assert "02: has no extension, so it is not read as audio (its transcript 02.txt is there); name it 02.wav, " \
           "02.flac, ... for its format" in str(info.value)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(folder / "02", alone / "01")
    shutil.copy(folder / "02.txt", alone / "01.txt")
    with pytest.raises(CloneError, match=r"^1 bad recording\(s\) in .*: 01: has no extension"):
        read_recordings(alone)


def test_a_transcript_extension_in_another_case_is_named(short_recordings: Path, tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    shutil.copytree(short_recordings, folder)
    (folder / "03.txt").rename(folder / "03.TXT")
    if (folder / "03.txt").is_file():
        pytest.skip("a case-insensitive file system finds 03.txt")
    with pytest.raises(CloneError, match="1 bad recording") as info:
        read_recordings(folder)
    assert "03.wav: transcript 03.txt is missing (03.TXT is there: rename it 03.txt, the extension in lower case)" \
           in str(info.value)


@pytest.mark.parametrize(("args", "named"), [
    (["--recordings", "."], "--recordings goes"), (["--consent", "consent-x"], "--consent goes"),
    (["--recordings", ".", "--consent", "consent-x"], "--recordings, --consent go"),
    (["amy"], "VOICE_ID goes"), (["--fast"], "--fast goes"), (["--steps", "5"], "--steps goes"),
])
def test_print_script_with_enrollment_options_is_a_usage_error(runner, args: list[str], named: str) -> None:  # noqa: ANN001
    from guard.cli import cli

    result = runner.invoke(cli, ["enroll", "--print-script", *args])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{named} only with enrollment, not with --print-script" in result.output
    assert script.SENTENCES[0] not in result.output  # nothing printed
