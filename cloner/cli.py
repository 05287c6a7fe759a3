"""Commands of the generating side: tts, enroll, voices, clone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from guard.cliutil import (
    Text,
    emit_json,
    home_option,
    json_option,
    quiet_option,
    say,
    seed_option,
)
from guard.consent.cli import ExpiryDate
from guard.consent.record import PURPOSES
from guard.errors import GuardError
from guard.home import open_home

# What `clone --help` says; tests hold these to cloner.output.WRITABLE_EXTENSIONS and to
# cloner.pipeline.mark (guard.watermark.MIN_PAYLOAD_S, padded to it plus 0.25 s), which are not
# imported here because the watermark's import alone takes most of a second.
CLONE_FORMATS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".webm")
CLONE_MIN_SPEECH_S = 3.07
CLONE_PADDED_S = 3.32


@click.command("tts")
@click.argument("text", required=False, type=Text(multiline=True))
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Output audio file (format from extension).")
@click.option("--voice", default="en-us", show_default=True, type=Text(),
              help="espeak-ng voice or language from --list-voices, optionally +variant (en-gb+f3).")
@click.option("--rate", "rate_wpm", type=click.IntRange(80, 450), default=175, show_default=True, help="Words per minute.")
@click.option("--pitch", type=click.IntRange(0, 99), default=50, show_default=True, help="Base pitch, 0-99.")
@click.option("--sample-rate", type=click.IntRange(8000, 48000), default=22050, show_default=True, help="Output rate in Hz.")
@click.option("--list-voices", is_flag=True, help="List espeak-ng voices and exit.")
@click.option("--list-variants", is_flag=True, help="List the variants a voice takes as +VARIANT and exit.")
@json_option
def tts_command(text: str | None, out: Path | None, voice: str, rate_wpm: int, pitch: int,
                sample_rate: int, list_voices: bool, list_variants: bool, as_json: bool) -> None:
    """Speak TEXT with espeak-ng into OUT (plain TTS: not a clone, not watermarked).

    An English voice reads TEXT as a person would: money ($3.50, £1.2m), numeric dates (month first
    in en-us, day first in other English; 2024-05-12), years after "in", "since"... (twenty
    twenty-four), clock times (3:05 pm), fractions (3/4), "#1", "x < y" and HTML entities (&amp;)
    are said in words; anything ambiguous is left to espeak-ng. Other languages are spoken as written.
    In every language, fullwidth, mathematical and circled letters are read as the plain letters they stand
    for (Unicode NFKC) and digits of any script as digits; text with no letter or digit is refused.
    """
    from cloner import tts
    from guard.audio import rate_change_note, save

    if list_voices:
        for v in tts.list_voices():
            if as_json:
                emit_json({"name": v.name, "identifier": v.identifier, "languages": list(v.languages), "gender": v.gender})
            else:
                click.echo(f"{v.identifier:24s} {','.join(v.languages):16s} {v.name}")
        return
    if list_variants:
        for name in tts.list_variants():
            if as_json:
                emit_json({"variant": name})
            else:
                click.echo(name)
        return
    if text is None or out is None:
        raise click.UsageError("TEXT and -o OUT are required (or use --list-voices or --list-variants)")
    tts.check_script(text, voice=voice)  # letters the voice would spell out, not say
    y = tts.synthesize(text, voice=voice, rate_wpm=rate_wpm, pitch=pitch, sample_rate=sample_rate)
    save(out, y, sample_rate=sample_rate)
    duration_s = y.shape[0] / sample_rate
    written, changed = rate_change_note(out, sample_rate)
    note = f" ({changed})" if changed else ""
    if as_json:
        emit_json({"file": str(out), "duration_s": round(duration_s, 3), "sample_rate": written, "voice": voice})
    else:
        say(f"Wrote {out} ({duration_s:.2f} s at {sample_rate} Hz{note}, voice {voice})")


@click.command("enroll")
@click.argument("voice_id", required=False, type=Text())
@click.option("--recordings", "recordings_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of audio files with same-name .txt transcripts (>= 60 s of speech).")
@click.option("--consent", "consent_id", default=None, type=Text(), help="Consent id from `voiceguard consent grant`.")
@click.option("--language", default="en-us", show_default=True, type=Text(),
              help="espeak-ng voice of the TTS front end; its language must be one the consent names (consent en "
                   "covers en-us and en-gb), and every transcript must be written in its script.")
@click.option("--fast", is_flag=True, help="Short training for demos and tests (lower quality): fewer steps for both "
                                           "the conversion network and the spectral post-filter.")
@click.option("--steps", type=click.IntRange(1, 100_000), default=None,
              help="Training steps of the conversion network only, in place of the default's or --fast's; the "
                   "spectral post-filter trains for its own steps whatever this says (fewer with --fast).")
@click.option("--print-script", is_flag=True,
              help="Print the sentences to record, numbered from 01 (sentence 01 is recorded as 01.wav with its text "
                   "in 01.txt), and with all of --subject, --operator, --purpose and --expires the consent statement "
                   "with a one-time code logged in the home (as `consent template`), then exit.")
@click.option("--subject", default=None, type=Text(), help="With --print-script: the speaker's name, for the statement.")
@click.option("--operator", default=None, type=Text(), help="With --print-script: who will use the voice.")
@click.option("--purpose", "purposes", multiple=True, type=click.Choice(PURPOSES),
              help="With --print-script: a purpose (repeatable).")
@click.option("--expires", default=None, type=ExpiryDate(), help="With --print-script: consent expiry, YYYY-MM-DD.")
@seed_option
@home_option
@json_option
@quiet_option
def enroll_command(voice_id: str | None, recordings_dir: Path | None, consent_id: str | None, language: str,
                   fast: bool, steps: int | None, print_script: bool, subject: str | None, operator: str | None,
                   purposes: tuple[str, ...], expires: date | None, seed: int, home_dir: Path,
                   as_json: bool, quiet: bool) -> None:
    """Enroll VOICE_ID from --recordings under --consent, or print the script to read (--print-script)."""
    terms = {"--subject": subject, "--operator": operator, "--purpose": purposes, "--expires": expires}
    if print_script:
        _refuse_enroll_options_with_print_script({"VOICE_ID": voice_id, "--recordings": recordings_dir,
                                                  "--consent": consent_id, "--fast": fast or None, "--steps": steps})
        _print_script(terms, language=language, home_dir=home_dir, as_json=as_json, quiet=quiet)
        return
    given = [name for name, value in terms.items() if value]
    if given:
        raise click.UsageError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} only with --print-script (the "
                               f"consent statement's terms); to enroll, give VOICE_ID, --recordings DIR and --consent "
                               f"CONSENT_ID")
    if not voice_id or recordings_dir is None or not consent_id:
        raise click.UsageError("VOICE_ID, --recordings DIR and --consent CONSENT_ID are required (or --print-script)")
    from cloner.convert import ConvertConfig
    from cloner.enroll import enroll

    config = ConvertConfig.fast() if fast else ConvertConfig()
    if steps is not None:
        config = ConvertConfig(**{**config.to_dict(), "steps": steps})
    home = open_home(home_dir)
    result = enroll(home, voice_id, recordings_dir=recordings_dir, consent_id=consent_id, language=language,
                    config=config, seed=seed, progress=not (as_json or quiet),
                    warn=lambda m: say(f"Warning: {m}", quiet=as_json or quiet))
    if as_json:
        emit_json(result.to_dict())
    else:
        say(f"Enrolled voice {result.voice_id} ({result.speech_s:.0f} s of speech in {result.n_recordings} files, "
            f"trained in {result.train_s:.0f} s) under consent {result.consent_id}", quiet=quiet)


def _refuse_enroll_options_with_print_script(options: dict[str, object]) -> None:
    """A usage error naming the enrollment options (option name -> value) given with --print-script, which
    prints the script and enrolls nothing."""
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise click.UsageError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} only with enrollment, not "
                               f"with --print-script (which prints the script and enrolls nothing); run `enroll "
                               f"VOICE_ID --recordings DIR --consent CONSENT_ID` once the recordings are made")


def _statement_terms(terms: dict[str, object]) -> dict[str, object] | None:
    """The consent statement's terms of `enroll --print-script` (option name -> value): all of them, or None when
    none is given; a usage error naming the missing ones when only some are."""
    missing = [name for name, value in terms.items() if not value]
    if len(missing) == len(terms):
        return None
    if missing:
        given = [name for name in terms if name not in missing]
        raise click.UsageError(f"the consent statement needs --subject, --operator, --purpose and --expires together; "
                               f"{', '.join(given)} given without {', '.join(missing)}")
    return terms


def _print_script(terms: dict[str, object], *, language: str, home_dir: Path, as_json: bool, quiet: bool) -> None:
    """`enroll --print-script`: the consent statement (with all of its terms) with a one-time code logged in the
    home, then the numbered sentences, each to be recorded as NN.wav + NN.txt under its number."""
    from cloner import script

    lines = script.sentences(language=language)
    full = _statement_terms(terms)
    issued = None
    if full is not None:  # a statement needs a one-time code from the home
        issued = script.consent_statement(open_home(home_dir), subject=full["--subject"], operator=full["--operator"],
                                          purposes=full["--purpose"], expires=full["--expires"])
    if as_json:
        emit_json({**(issued.to_dict() if issued else {"statement": None}), "sentences": list(lines)})
        return
    if issued:
        click.echo("Read this consent statement first, into its own file (statement.wav):\n")
        click.echo(issued.statement + "\n")
        say(f"Consent code {issued.challenge.challenge_id} is valid until "
            f"{issued.challenge.valid_until.isoformat()}, for a grant on exactly these terms.", quiet=quiet)
    else:
        say("(give --subject, --operator, --purpose and --expires to print the consent statement too)", quiet=quiet)
    first = script.recording_name(1)
    step = (f"record each sentence below under its number, as NN.wav with its text in NN.txt ({first}.wav and "
            f"{first}.txt for the first):\n")
    click.echo(f"Then {step}" if issued else step[:1].upper() + step[1:])
    click.echo(script.print_script(language=language))


@click.group("voices")
def voices_group() -> None:
    """Enrolled voices: list them, or delete one (its model and recordings)."""


@voices_group.command("list")
@home_option
@json_option
def voices_list_command(home_dir: Path, as_json: bool) -> None:
    """List enrolled voices: whether they can be cloned, and their enrollment consent's status.

    Each voice's state, by the checks clone makes: ok; DELETED (its erasure is logged: clones
    are refused, and files of it still here should be removed again with `voiceguard voices
    delete`); CONSENT-REVOKED, CONSENT-EXPIRED, CONSENT-NOT-YET-VALID, CONSENT-UNKNOWN or
    CONSENT-REFUSED (its consent allows no clone now; the problem says why); INCOMPLETE (its
    model or kept recordings are missing or changed); DELETION-INTERRUPTED (a `voices delete`
    stopped before it was logged left its files in a hidden voices/.VOICE_ID.deleting-* folder:
    run the delete again to finish it, or rename the folder back to voices/VOICE_ID to keep the
    voice); MISSING (enrolled in the ledger, its folder gone: restore it, or log its erasure
    with `voiceguard voices delete`); NOT-ENROLLED (a folder no enrollment record matches);
    UNREADABLE (its voice.json is missing or corrupt). With --json, one object per voice, each
    with the same keys (null where unknown), among them "state" and "problems".
    """
    from cloner.authorize import voice_states
    from cloner.voice import list_voices

    home = open_home(home_dir)
    voices = voice_states(home, list_voices(home))
    for v in voices:
        if as_json:
            emit_json(v)
        else:
            say(_voice_line(v))
    if not voices and not as_json:
        say("no voices enrolled; see `voiceguard enroll --help`")


CONSENT_NOTES = {"revoked": "REVOKED: no more clones; a new consent needs a new enrollment (new voice id)",
                 "expired": "EXPIRED: clones need the speaker's renewed consent",
                 "renewed": "expired, renewed by the speaker"}
INCOMPLETE_FIX = "restore them from a backup, or erase the voice with `voiceguard voices delete {vid} --reason TEXT`"


def _voice_summary(v: dict) -> str:
    """A voice of `voices list` for people: language, rate, speech, consent and when it was made, as far as known.

    The consent's status is spelled out unless the voice's state already says what it means for
    clones (a CONSENT-... state).
    """
    if v["consent_id"] is None:  # neither a readable voice.json nor an enrollment says more
        return f"{v['voice_id']:24s}"
    status = v["consent_status"]
    note = status if v["state"].startswith("consent-") else CONSENT_NOTES.get(status, status)
    consent = f"consent {v['consent_id']} ({note})"
    if v["language"] is None:  # no voice.json to describe it: only its enrollment is known
        return f"{v['voice_id']:24s} {consent}  enrolled {v['created_at']}"
    return (f"{v['voice_id']:24s} {v['language']:8s} {v['sample_rate']:6d} Hz "
            f"{v['speech_s']:7.1f} s  {consent}  {v['created_at']}")


def _voice_line(v: dict) -> str:
    """One voice of `voices list` for people: its summary, then its state and problems unless it is ok with none."""
    line = _voice_summary(v)
    if v["state"] == "ok" and not v["problems"]:
        return line
    if v["state"] == "deleted":
        erased = f"erased at {v['deleted_at']} (ledger event {v['deletion_event']}); its clones are refused"
        return f"{line}  DELETED: " + "; ".join([erased, *v["problems"]])
    fix = [INCOMPLETE_FIX.format(vid=v["voice_id"])] if v["state"] == "incomplete" else []
    return f"{line}  {v['state'].upper()}: " + "; ".join([*v["problems"], *fix])


@voices_group.command("delete")
@click.argument("voice_id", type=Text())
@click.option("--reason", required=True, type=Text(multiline=True, nonblank=True),
              help="Why the voice is erased (kept in the ledger), e.g. \"consent withdrawn by the speaker\".")
@home_option
@json_option
def voices_delete_command(voice_id: str, reason: str, home_dir: Path, as_json: bool) -> None:
    """Erase VOICE_ID's voice model and enrollment recordings from the home, and log it.

    Removes the folder voices/VOICE_ID/ (the model, voice.json, the kept recordings and their
    transcripts) and logs a voice.deleted event in the ledger naming the voice, the consent it
    was enrolled under, --reason and the files removed. From then on clones of the voice are
    refused (each refusal logged), its id is never enrolled again, and `voiceguard audit`
    expects its files to be gone. This cannot be undone.

    It may be run at any time, whether or not the consent was revoked, and it does not change
    the consent's status: when the speaker withdrew consent, revoke it too
    (`voiceguard consent revoke`). Kept: the consent record and the speaker's consent statement
    recording in consents/, as the evidence of the consent the voice's earlier clips were made
    under, the ledger's events (a consent record holds the statement's speaker embedding), and
    the clips already written.

    Files already removed by hand: this logs their erasure, so that the audit passes again. A
    deletion stopped before it finished: run it again to remove what is left (nothing more is
    logged).
    """
    from cloner.erase import delete_voice
    from guard import consent

    home = open_home(home_dir)
    result = delete_voice(home, voice_id, reason=reason)
    if as_json:
        emit_json(result.to_dict())
        return
    where = f"{len(result.removed)} files" if result.removed else "nothing (no files were left)"
    if result.resumed:
        say(f"Voice {result.voice_id} was already deleted (ledger event {result.event_seq}, "
            f"{result.deleted_at}); removed the {where} it had left in {home.voices_dir}")
        return
    say(f"Deleted voice {result.voice_id}: removed {where} from {home.voices_dir}; logged as ledger event "
        f"{result.event_seq} (voice.deleted, consent {result.consent_id}). Its clones are refused from now on; "
        f"the consent statement stays in {home.root / 'consents'} as evidence of the consent")
    try:
        status = consent.get(home, result.consent_id).status()
    except GuardError:  # a consent the home lacks: the audit reports that
        return
    if status == "valid":
        say(f"Consent {result.consent_id} is still valid; if the speaker withdrew it, revoke it too: "
            f"`voiceguard consent revoke {result.consent_id} --reason TEXT`")


@click.command("clone")
@click.argument("voice_id", type=Text())
@click.argument("text", type=Text(multiline=True))
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output audio file (format from extension).")
@click.option("--purpose", required=True, type=Text(),
              help=f"What the clip is for ({', '.join(PURPOSES)}); must be one the voice's consent covers. Any other "
                   f"is refused and, like every refused clone, logged.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists (never a file inside the data home).")
@home_option
@json_option
def clone_command(voice_id: str, text: str, out: Path, purpose: str, force: bool, home_dir: Path, as_json: bool) -> None:
    """Speak TEXT in VOICE_ID's voice into OUT: consent-checked, watermarked, recorded.

    OUT's extension picks the format: {formats}. A format that cannot embed the C2PA manifest
    gets it beside the clip, as OUT.c2pa.

    Every clip carries the watermark, and its payload needs about {min_s:.0f} s of speech
    ({min_s:g} s): a shorter clip is padded with silence to {padded_s:g} s, and a text too short
    to carry it readably is refused, so give a sentence or more. A clone outside the voice's
    consent (a purpose it does not cover, expired, revoked, a deleted voice) is refused and the
    refusal logged.

    A voice whose language is English reads TEXT as a person would: money ($3.50), numeric dates
    (month first in en-us, day first in other English), years, clock times, fractions, "x < y" and
    HTML entities are said in words, as `voiceguard tts` says them. The clip's ledger record keeps
    TEXT as given.

    A recorded clip that an interrupted clone left in a hidden .voiceguard-* folder beside OUT
    is first moved to the name it was recorded for (with --json, listed under "recovered", a key
    present only then); moving .voiceguard-*/NAME to NAME by hand does the same.
    """
    from cloner.pipeline import clone
    from cloner.recover import recover

    home = open_home(home_dir)
    recovered = recover(out.parent, home=home)
    for r in recovered:
        if r.staged is None:
            say(f"Recovered {r.file} (record {r.record_id}), which an interrupted clone had left unplaced",
                quiet=as_json)
        elif r.record_id is None:
            say(f"Note: {r.staged} holds a clip an interrupted clone left: {r.reason}")
        else:
            say(f"Warning: the clip of record {r.record_id} for {r.file} is still at {r.staged}: {r.reason}")
    result = clone(home, voice_id, text, purpose=purpose, out_path=out, overwrite=force)
    if as_json:
        data = {k: result.to_dict()[k] for k in ("file", "record_id", "payload", "voice_id", "consent_id", "manifest")}
        emit_json({**data, "recovered": [r.to_dict() for r in recovered]} if recovered else data)
    else:
        say(f"Wrote {result.file} ({result.duration_s:.2f} s): voice {result.voice_id}, consent {result.consent_id}, "
            f"watermark payload {result.payload}, record {result.record_id}")


clone_command.help = clone_command.help.format(formats=", ".join(CLONE_FORMATS), min_s=CLONE_MIN_SPEECH_S,
                                               padded_s=CLONE_PADDED_S)
