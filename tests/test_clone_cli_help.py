"""`clone --help` tells what a clip needs: the formats it can write, the speech its watermark needs, the purposes."""

from __future__ import annotations

from cloner import cli as cloner_cli
from cloner import pipeline
from cloner.output import WRITABLE_EXTENSIONS
from guard import watermark
from guard.cli import cli
from guard.consent.record import PURPOSES


def test_the_help_numbers_are_the_pipelines() -> None:
    assert cloner_cli.CLONE_FORMATS == WRITABLE_EXTENSIONS == pipeline.WRITABLE_EXTENSIONS
    assert cloner_cli.CLONE_MIN_SPEECH_S == watermark.MIN_PAYLOAD_S
    assert round(cloner_cli.CLONE_PADDED_S, 2) == round(watermark.MIN_PAYLOAD_S + 0.25, 2)


def test_clone_help_lists_formats_speech_length_and_purposes(runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["clone", "--help"], terminal_width=200)
    assert res.exit_code == 0
    text = " ".join(res.stdout.split())
    assert "OUT's extension picks the format: .wav, .flac, .ogg, .mp3, .m4a, .opus, .webm." in text
    assert "about 3 s of speech (3.07 s)" in text and "padded with silence to 3.32 s" in text
    assert "(" + ", ".join(PURPOSES) + ")" in text and "like every refused clone, logged" in text


def test_a_clip_shorter_than_the_help_says_is_padded_to_its_length() -> None:
    from conftest import voiced_glide

    marked = pipeline.mark(voiced_glide(3.1), sample_rate=16000, payload=0x1234ABCD, key=bytes(32))
    assert marked.shape[0] == int(cloner_cli.CLONE_PADDED_S * 16000)
