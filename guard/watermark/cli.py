"""`voiceguard watermark embed|verify`: mark a file with the home's key, or look for the mark."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from guard.cliutil import emit_json, file_failed, home_option, input_path, json_option, say
from guard.errors import AudioError, GuardError, ProvenanceError, WatermarkError
from guard.home import Home, open_home, watermark_key_fingerprint
from guard.replace import replace_keeping_mode
from guard.watermark.rotation import CurrentKey, current_key
from guard.watermark.staging import StagedFile, sweep

if TYPE_CHECKING:
    from guard.provenance import MarkRecord

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _parse_payload(_ctx: click.Context, _param: click.Parameter, text: str | None) -> int | None:
    """``--payload``: 1-8 hex digits (an optional 0x), else a usage error (exit 2); None when not given."""
    if text is None:
        return None
    digits = text.removeprefix("0x").removeprefix("0X")
    if not digits or not set(digits) <= _HEX_DIGITS:
        raise click.BadParameter(f"must be hexadecimal, 1 to 8 digits (e.g. 1234abcd), given {text!r}")
    if len(digits) > 8:
        raise click.BadParameter(f"must fit in 32 bits (at most 8 hex digits), given {text!r}")
    return int(digits, 16)


def _check_strength(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    """``--strength``: a number within (0, 1], else a usage error (exit 2)."""
    if not 0.0 < value <= 1.0:  # NaN fails this too
        raise click.BadParameter(f"must be within (0, 1], given {value:g}")
    return value


@click.group("watermark")
def watermark_group() -> None:
    """Embed or verify the keyed audio watermark."""


@watermark_group.command("embed")
@click.argument("in_path", metavar="IN", type=input_path())
@click.option("-o", "--output", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Marked audio, format from the extension: same length, mono, and the same rate "
                   "where the format has it (Opus only has 8/12/16/24/48 kHz, MP3 no rate under 8 kHz).")
@click.option("--payload", "value", default=None, callback=_parse_payload,
              help="32-bit payload as hex (default: a random one no clip or mark of the home's ledger uses); a "
                   "payload the ledger gives to a generated clip or an earlier mark is refused.")
@click.option("--strength", type=float, default=1.0, show_default=True, callback=_check_strength,
              help="Within (0, 1]; lower is quieter and less robust.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists (IN itself included; never a file in the home).")
@home_option
@json_option
def embed_command(in_path: Path, out_path: Path, value: int | None, strength: float, force: bool, home_dir: Path,
                  as_json: bool) -> None:
    """Mark IN with the home's current watermark key and write OUT; the mark is logged in the home's ledger.

    OUT is encoded, read back and verified before it is written; when the mark or its payload
    does not read back (audio with too little sound to carry it, a strength too low) nothing
    is written and the command fails. Every mark is logged (an `audio.marked` event: its payload,
    the SHA-256 of IN and of OUT, OUT's path, the strength and the time), so `scan` tells
    audio this home marked from a generated clip, and the audit accounts for every payload.
    The event is logged before OUT takes its place: a kill in between leaves a logged mark
    whose file never arrived (harmless; the audit notes it and names the hidden copy left
    beside OUT), never a marked file at OUT that the ledger does not know. A kill before the
    event leaves a hidden marked file no record names; the next embed into that folder removes
    it, and says so.
    """
    from guard import provenance
    from guard.audio import info, load, rate_change_note
    from guard.digest import sha256_file
    from guard.watermark import embed

    home = open_home(home_dir)
    _check_output(home, out_path, force=force)
    if value is None:
        value = provenance.new_payload(home)
    else:
        _refuse_used(home, value)
    source = info(in_path)
    rate = source.sample_rate
    source_sha256 = sha256_file(in_path)  # before anything is written: OUT may be IN
    y = load(in_path, sample_rate=rate)
    _refuse_marked(home, in_path, y, rate)
    current = current_key(home)
    try:
        marked = embed(y, sample_rate=rate, payload=value, key=current.key, strength=strength)
    except GuardError as exc:
        raise type(exc)(f"{in_path}: {exc}") from None
    # written beside OUT under a hidden name and read back before it takes OUT's place, so a
    # failed check leaves whatever was at OUT (the input itself when OUT is IN) untouched; a
    # link at OUT is written through, as any writer would
    target = out_path.resolve() if out_path.is_symlink() else out_path
    if not target.parent.is_dir():
        raise AudioError(f"{out_path}: output folder {target.parent} does not exist")
    _sweep_leftovers(home, target.parent)
    try:
        staging = StagedFile(target)
    except OSError as exc:
        raise WatermarkError(f"{out_path}: cannot write in {target.parent} ({exc.strerror or exc})") from None
    with staging:
        mark = _write_marked(home, staging.path, target, out_path, marked, current, rate=rate, value=value,
                             strength=strength, source_sha256=source_sha256)
    noise = float(np.sum((marked - y).astype(np.float64) ** 2))
    snr_db = round(10 * np.log10(float(np.sum(y.astype(np.float64) ** 2)) / noise), 2) if noise > 0 else None
    written_rate, changed = rate_change_note(out_path, rate)
    notes = ([f"{source.channels} channels mixed to mono"] if source.channels > 1 else []) + ([changed] if changed else [])
    if as_json:
        emit_json({"file": str(out_path), "source": str(in_path), "payload": f"{value:08x}", "snr_db": snr_db,
                   "sample_rate": written_rate, "notes": notes, "record_id": mark.record_id, "ledger_seq": mark.seq,
                   "sha256": mark.audio_sha256})
    else:
        say(f"{out_path}: marked with payload {value:08x} (SNR {snr_db} dB), logged as {mark.record_id} (ledger "
            f"event {mark.seq})" + "".join(f"; {n}" for n in notes))


def _write_marked(home: Home, staged: Path, target: Path, out_path: Path, marked: np.ndarray, current: CurrentKey, *,
                  rate: int, value: int, strength: float, source_sha256: str) -> MarkRecord:
    """Write ``marked`` to ``staged``, check it reads back with ``value``, log the mark, rename it to ``target``.

    Logged first, renamed second: a mark at OUT is always in the ledger; a stop in between
    leaves a logged mark whose file never arrived, which misattributes nothing. Errors name
    ``out_path``, the path the user gave, never the hidden one.
    """
    from guard import provenance
    from guard.audio import load, save
    from guard.watermark import verify

    try:
        save(staged, marked, sample_rate=rate)
        check = verify(load(staged, sample_rate=16000), sample_rate=16000, keys=[current.key])
    except GuardError as exc:
        raise type(exc)(str(exc).replace(str(staged), str(out_path))) from None
    if check.payload != value:
        found = "its payload does not" if check.detected else "the mark does not"
        raise WatermarkError(f"{out_path}: {found} read back from the encoded audio ({check.reason}), so nothing "
                             f"was written; the audio needs more sound in 300-4000 Hz to carry the mark"
                             + (f", or a --strength above {strength:g}" if strength < 1.0 else ""))
    try:
        mark = provenance.record_mark(home, payload=value, audio_path=staged, source_sha256=source_sha256,
                                      strength=strength, final_path=target, key_fingerprint=current.fingerprint)
    except ProvenanceError as exc:  # taken by another writer while this one marked
        raise WatermarkError(f"{out_path}: {exc}, so nothing was written; run the command again (without "
                             f"--payload for a fresh one)") from None
    except GuardError as exc:
        raise type(exc)(f"{out_path}: the mark could not be logged, so nothing was written: {exc}") from None
    try:
        replace_keeping_mode(staged, target)
    except OSError as exc:
        raise WatermarkError(f"{out_path}: cannot be written ({exc.strerror or exc}); the mark was logged as "
                             f"ledger event {mark.seq} ({mark.record_id}), but no file carries it. Fix the "
                             f"folder and run the command again") from None
    return mark


def _sweep_leftovers(home: Home, folder: Path) -> None:
    """Remove unlogged marked files that killed embeds left in ``folder``, saying so; name the others left there."""
    for left in sweep(folder, home):
        say(f"Note: {left.path}, left by an interrupted `watermark embed`, {left.reason}")


def _refuse_used(home: Home, value: int) -> None:
    """WatermarkError when ``--payload`` is already a generated clip's or an earlier mark's (naming which)."""
    from guard import provenance

    owner = provenance.payload_owner(home, value)
    if isinstance(owner, provenance.ProvenanceRecord):  # scan would name that clip's record, voice and consent
        raise WatermarkError(f"payload {value:08x} belongs to generated clip record {owner.record_id} (voice "
                             f"{owner.voice_id}); marking other audio with it would attribute that audio to "
                             f"the record; choose another --payload or leave it out")
    if owner is not None:
        raise WatermarkError(f"payload {value:08x} was already used by an earlier mark: "
                             f"{provenance.describe_owner(owner)}; a payload names one piece of audio, so choose "
                             f"another --payload or leave it out")


def _check_output(home: Home, out_path: Path, *, force: bool) -> None:
    """WatermarkError unless ``out_path`` may be written: outside the home, and new unless ``force``."""
    if home.contains(out_path):
        raise WatermarkError(f"{out_path}: is inside the data home {home.root}, whose files the audit checks; write "
                             f"marked audio outside it")
    if (out_path.exists() or out_path.is_symlink()) and not force:
        raise WatermarkError(f"{out_path} already exists; choose another name, or pass --force to replace it")


def _refuse_marked(home: Home, in_path: Path, y: np.ndarray, rate: int) -> None:
    """WatermarkError when IN already carries this home's mark: a second mark would hide the first and its record."""
    from guard import provenance
    from guard.audio import resample
    from guard.watermark import verify

    found = verify(resample(y, orig_sr=rate, target_sr=16000) if rate != 16000 else y, sample_rate=16000,
                   keys=home.watermark_keys())
    if not found.detected:
        return
    owner = provenance.payload_owner(home, found.payload) if found.payload is not None else None
    whose = (f"payload {found.payload:08x}, " + (provenance.describe_owner(owner) if owner else "no record of it here")
             if found.payload is not None else "its payload unreadable")
    raise WatermarkError(f"{in_path} already carries this home's watermark ({whose}); marking it again would hide "
                         f"where it came from. Mark the unmarked original instead")


def _key_name(owner: str | None, index: int) -> str:
    return f"key {index}" if owner is None else f"the key trusted as {owner!r}"


def _spans(segments: list[tuple[float, float]]) -> str:
    """``0.0-5.6 s, 11.1-16.7 s``."""
    return ", ".join(f"{s:.1f}-{e:.1f} s" for s, e in segments)


@watermark_group.command("verify")
@click.argument("files", nargs=-1, required=True, type=input_path())
@click.option("--speed-search", is_flag=True,
              help="Also look for the mark at playback speeds x0.94-x1.06 (pitch and tempo changed together); "
                   "about 25x slower on unmarked audio.")
@home_option
@json_option
def verify_command(files: tuple[Path, ...], speed_search: bool, home_dir: Path, as_json: bool) -> None:
    """Look for the mark of any of the home's keys in FILES (exit 1 if a file cannot be read).

    The home's own keys are tried first, then the keys it trusts (`watermark trust`); a mark
    found with a trusted key is reported under its name (``key_owner`` in --json, null for
    the home's own). ``key_fingerprint`` names the key that found it, as `export-key`,
    `rotate-key` and `trusted` print it (``key_index``, its place in the list tried, shifts
    with each rotation).
    """
    from guard.audio import load
    from guard.watermark import verify
    from guard.watermark.trust import verification_keys

    keys, owners = verification_keys(open_home(home_dir))
    failed = 0
    for path in files:
        try:
            result = verify(load(path, sample_rate=16000), sample_rate=16000, keys=keys, speed_search=speed_search)
        except GuardError as exc:
            failed += 1
            file_failed(path, exc, as_json=as_json)
            continue
        owner = owners[result.key_index] if result.key_index is not None else None
        if as_json:
            data = result.to_dict(file=str(path))
            for other, mark in zip(data["other_marks"], result.other_marks):  # whose key each joined piece is
                other["key_owner"] = owners[mark.key_index]
                other["key_fingerprint"] = watermark_key_fingerprint(keys[mark.key_index])
            found = watermark_key_fingerprint(keys[result.key_index]) if result.key_index is not None else None
            emit_json({**data, "key_owner": owner, "key_fingerprint": found})
            continue
        if result.detected:
            payload = f"payload {result.payload:08x}" if result.payload is not None else "payload unreadable"
            speed = "" if result.speed == 1.0 else f", played at x{result.speed:.4f} speed"
            whose = f" (the key trusted as {owner!r})" if owner is not None else ""
            also = "".join(f"; also marked with {'payload ' + format(m.payload, '08x') if m.payload is not None else 'an unread payload'}"
                           f" ({_key_name(owners[m.key_index], m.key_index)}) at {_spans(m.segments)}"
                           for m in result.other_marks)
            say(f"{path}: watermark found{whose}, {payload}, p={result.p_value:.2g}, marked "
                f"{_spans(result.segments) or 'no segment'}{speed}{also}")
        else:
            say(f"{path}: {result.reason}")
    if failed:
        sys.exit(1)



def _add_key_commands() -> None:
    from guard.watermark.trust_cli import KEY_COMMANDS

    for command in KEY_COMMANDS:
        watermark_group.add_command(command)


_add_key_commands()
