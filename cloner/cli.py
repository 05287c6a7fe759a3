"""Commands of the generating side: tts (and, as they land, enroll, voices, clone)."""

from __future__ import annotations

from pathlib import Path

import click

from guard.cliutil import emit_json, json_option, say


@click.command("tts")
@click.argument("text", required=False)
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Output audio file (format from extension).")
@click.option("--voice", default="en-us", show_default=True, help="espeak-ng voice or language.")
@click.option("--rate", "rate_wpm", type=click.IntRange(80, 450), default=175, show_default=True, help="Words per minute.")
@click.option("--pitch", type=click.IntRange(0, 99), default=50, show_default=True, help="Base pitch, 0-99.")
@click.option("--sample-rate", type=click.IntRange(8000, 48000), default=22050, show_default=True, help="Output rate in Hz.")
@click.option("--list-voices", is_flag=True, help="List espeak-ng voices and exit.")
@json_option
def tts_command(text: str | None, out: Path | None, voice: str, rate_wpm: int, pitch: int,
                sample_rate: int, list_voices: bool, as_json: bool) -> None:
    """Speak TEXT with espeak-ng into OUT (plain TTS: not a clone, not watermarked)."""
    from cloner import tts
    from guard.audio import save

    if list_voices:
        for v in tts.list_voices():
            if as_json:
                emit_json({"name": v.name, "identifier": v.identifier, "languages": list(v.languages), "gender": v.gender})
            else:
                click.echo(f"{v.identifier:24s} {','.join(v.languages):16s} {v.name}")
        return
    if text is None or out is None:
        raise click.UsageError("TEXT and -o OUT are required (or use --list-voices)")
    y = tts.synthesize(text, voice=voice, rate_wpm=rate_wpm, pitch=pitch, sample_rate=sample_rate)
    save(out, y, sample_rate=sample_rate)
    duration_s = y.shape[0] / sample_rate
    if as_json:
        emit_json({"file": str(out), "duration_s": round(duration_s, 3), "sample_rate": sample_rate, "voice": voice})
    else:
        say(f"Wrote {out} ({duration_s:.2f} s at {sample_rate} Hz, voice {voice})")
