"""`voiceguard watermark embed|verify`: mark a file with the home's key, or look for the mark."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
import numpy as np

from guard.cliutil import emit_json, home_option, json_option, say
from guard.errors import GuardError, ParameterError
from guard.home import open_home


def _parse_payload(text: str | None) -> int:
    if text is None:
        return secrets.randbits(32)
    try:
        value = int(text.removeprefix("0x").removeprefix("0X"), 16)
    except ValueError:
        raise ParameterError(f"--payload must be hexadecimal (up to 8 digits), given {text!r}") from None
    if not 0 <= value < 1 << 32 or len(text.removeprefix("0x").removeprefix("0X")) > 8:
        raise ParameterError(f"--payload must fit in 32 bits (up to 8 hex digits), given {text!r}")
    return value


@click.group("watermark")
def watermark_group() -> None:
    """Embed or verify the keyed audio watermark."""


@watermark_group.command("embed")
@click.argument("in_path", metavar="IN", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Marked audio (same rate and length; format from the extension).")
@click.option("--payload", default=None, help="32-bit payload as hex (default: random).")
@click.option("--strength", type=float, default=1.0, show_default=True, help="Within (0, 1]; lower is quieter and less robust.")
@home_option
@json_option
def embed_command(in_path: Path, out_path: Path, payload: str | None, strength: float, home_dir: Path, as_json: bool) -> None:
    """Mark IN with the home's current watermark key and write OUT."""
    from guard.audio import info, load, save
    from guard.watermark import embed

    value = _parse_payload(payload)
    home = open_home(home_dir)
    rate = info(in_path).sample_rate
    y = load(in_path, sample_rate=rate)
    try:
        marked = embed(y, sample_rate=rate, payload=value, key=home.watermark_key(), strength=strength)
    except GuardError as exc:
        raise type(exc)(f"{in_path}: {exc}") from None
    save(out_path, marked, sample_rate=rate)
    noise = float(np.sum((marked - y).astype(np.float64) ** 2))
    snr_db = round(10 * np.log10(float(np.sum(y.astype(np.float64) ** 2)) / noise), 2) if noise > 0 else None
    if as_json:
        emit_json({"file": str(out_path), "source": str(in_path), "payload": f"{value:08x}", "snr_db": snr_db})
    else:
        say(f"{out_path}: marked with payload {value:08x} (SNR {snr_db} dB)")


@watermark_group.command("verify")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--speed-search", is_flag=True,
              help="Also look for the mark at playback speeds x0.94-x1.06 (pitch and tempo changed together); "
                   "about 25x slower on unmarked audio.")
@home_option
@json_option
def verify_command(files: tuple[Path, ...], speed_search: bool, home_dir: Path, as_json: bool) -> None:
    """Look for the mark of any of the home's keys in FILES (exit 1 if a file cannot be read)."""
    from guard.audio import load
    from guard.watermark import verify

    keys = open_home(home_dir).watermark_keys()
    failed = 0
    for path in files:
        try:
            result = verify(load(path, sample_rate=16000), sample_rate=16000, keys=keys, speed_search=speed_search)
        except GuardError as exc:
            failed += 1
            click.echo(f"Error: {exc}", err=True)
            continue
        if as_json:
            emit_json(result.to_dict(file=str(path)))
            continue
        if result.detected:
            payload = f"payload {result.payload:08x}" if result.payload is not None else "payload unreadable"
            spans = ", ".join(f"{s:.1f}-{e:.1f} s" for s, e in result.segments) or "no segment"
            speed = "" if result.speed == 1.0 else f", played at x{result.speed:.4f} speed"
            click.echo(f"{path}: watermark found, {payload}, p={result.p_value:.2g}, marked {spans}{speed}")
        else:
            click.echo(f"{path}: no watermark ({result.reason})")
    if failed:
        sys.exit(1)
