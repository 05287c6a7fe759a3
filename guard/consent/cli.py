"""`voiceguard consent grant|revoke|list|show|template`."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import click

from guard.cliutil import Text, emit_json, home_option, json_option, say
from guard.consent.record import (
    MAX_EXPIRY_YEARS,
    PURPOSES,
    Consent,
    as_date,
    check_expiry,
    one_line,
)
from guard.errors import ConsentError, ParameterError
from guard.home import Home, open_home


class ExpiryDate(click.ParamType):
    """A consent's last day, ``YYYY-MM-DD``: a date that exists, at most :data:`MAX_EXPIRY_YEARS` years ahead."""

    name = "YYYY-MM-DD"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            day = value
        else:
            try:
                day = as_date(str(value))
            except ParameterError as exc:
                self.fail(str(exc).replace("expires=", "", 1) if "exist" in str(exc) else
                          f"{value!r} is not a date YYYY-MM-DD", param, ctx)
        try:
            return check_expiry(day, today=datetime.now(timezone.utc).date())
        except ConsentError as exc:
            self.fail(str(exc).replace("expires=", "", 1), param, ctx)


_subject = click.option("--subject", required=True, type=Text(), help="The speaker's name.")
_operator = click.option("--operator", required=True, type=Text(), help="Who may use the voice.")
_purpose = click.option("--purpose", "purposes", multiple=True, required=True, type=click.Choice(PURPOSES),
                        help="What the voice may be used for (repeat for several).")
_expires = click.option("--expires", required=True, type=ExpiryDate(),
                        help=f"Last valid day, YYYY-MM-DD (at most {MAX_EXPIRY_YEARS} years ahead).")


def _describe(c: Consent) -> str:
    evidence = c.evidence.get("kind")
    extra = f", statement match {c.evidence.get('match_score')}" if evidence == "statement" else ""
    return (f"{c.consent_id}  voice {c.voice_id}  {c.status()}  purposes {', '.join(c.purposes)}  "
            f"valid through {c.last_day.isoformat()}  subject {c.subject!r}  "
            f"operator {c.operator!r}  evidence {evidence}{extra}")


def statement_file(c: Consent, home: Home | None) -> str | None:
    """Where consent ``c``'s statement recording is kept: in ``home`` when given (a moved or copied home keeps it
    in its own ``consents/``, :meth:`guard.home.Home.stored_file`), else as granted; None for other evidence."""
    stored = c.evidence.get("file")
    if c.evidence.get("kind") != "statement" or not stored:
        return None
    return str(home.stored_file(str(stored))) if home is not None else str(stored)


def _evidence_lines(evidence: dict, kept_at: str | None) -> list[str]:
    """The evidence of a consent for people: what it is, where it is kept, how well it matched (no embedding)."""
    kind = evidence.get("kind")
    if kind == "license":
        return [f"evidence: a licence, {evidence.get('text')!r} (SHA-256 {evidence.get('sha256')})"]
    if kind != "statement":
        return [f"evidence: {kind}"]
    where = f"kept at {kept_at}" if kept_at is None or Path(kept_at).is_file() else \
        f"MISSING from {kept_at} (restore it from a backup: the audit fails missing-file)"
    lines = [f"evidence: a spoken statement, {evidence.get('duration_s')} s, {where} "
             f"(SHA-256 {evidence.get('sha256')})"]
    scores = evidence.get("field_scores") or {}
    fields = ", ".join(f"{k.replace('purpose:', 'purpose ')} {v:.2f}" for k, v in scores.items()
                       if isinstance(v, (int, float)))
    lines.append(f"statement match: {evidence.get('match_score')} of its words heard (needs "
                 f"{evidence.get('match_threshold')})" + (f"; by field: {fields}" if fields else ""))
    if evidence.get("template"):
        lines.append(f"statement text: {evidence['template']}")
    lines.append(f"consent code: {evidence['challenge_id']} (issued by `voiceguard consent template`)"
                 if evidence.get("challenge_id") else "consent code: none (granted before consent codes)")
    embedding = evidence.get("speaker_embedding")
    if isinstance(embedding, list):
        lines.append(f"speaker embedding: {len(embedding)} values, compared with the recordings at enrollment "
                     f"(--json lists them)")
    return lines


# Shown after a spoken consent's languages: the statement names none (`consent grant --language` sets them).
LANGUAGES_DECLARED = (" (declared by the operator at grant: the spoken statement names no language, so they were "
                      "not checked against the recording)")


def show_lines(c: Consent, *, home: Home | None = None) -> list[str]:
    """A consent record as lines for people: lists joined, times and evidence in words, no embedding.

    The labels are the keys of ``--json``, which holds every value in full. With ``home``, the
    statement recording is named where that home keeps it (:func:`statement_file`), not where
    it was granted.
    """
    status = c.status()
    if c.revoked_at is not None:
        status += f" (revoked at {c.revoked_at.isoformat()}: {c.revoke_reason})"
    declared = LANGUAGES_DECLARED if c.evidence.get("kind") == "statement" else ""
    lines = [f"consent_id: {c.consent_id}", f"voice_id: {c.voice_id}", f"status: {status}",
             f"subject: {c.subject}", f"operator: {c.operator}", f"purposes: {', '.join(c.purposes)}",
             f"languages: {', '.join(c.languages)}{declared}",
             f"valid_from: {c.valid_from.isoformat()}",
             f"expires: {c.last_day.isoformat()} (valid through the end of that day, UTC)",
             f"created_at: {c.created_at.isoformat()}"]
    lines += _evidence_lines(dict(c.evidence), statement_file(c, home))
    lines.append(f"signature: Ed25519, {c.signature[:16]}... (--json gives it whole)" if c.signature
                 else "signature: none")
    return lines


@click.group("consent")
def consent_group() -> None:
    """Grant, revoke and inspect consent records (each one is a ledger event)."""


@consent_group.command("template")
@_subject
@_operator
@_purpose
@_expires
@home_option
@json_option
def template_command(subject: str, operator: str, purposes: tuple[str, ...], expires: date, home_dir: Path,
                     as_json: bool) -> None:
    """Print the statement the speaker reads aloud for a spoken consent, with a fresh one-time code.

    The code is logged in the home (a consent.challenge event) and is valid for 14 days, for a
    grant on exactly these terms; `consent grant --statement` accepts a recording only with it.
    The statement check hears Latin letters (accents allowed) and digits: give a name written in
    another script in its Latin transliteration. With --json: statement, challenge_id, code, valid_until.
    """
    from guard.consent.challenge import issue_statement

    home = open_home(home_dir)
    try:
        subject, operator = one_line(subject, "subject"), one_line(operator, "operator")
    except ConsentError as exc:  # a blank or over-long name: the command line's to fix
        raise click.UsageError(str(exc)) from None
    issued = issue_statement(home, subject=subject, operator=operator, purposes=purposes, expires=expires)
    if as_json:
        emit_json(issued.to_dict())
        return
    click.echo(issued.statement)  # the command's product, as before codes: stdout
    say(f"Consent code {issued.challenge.challenge_id} is valid until {issued.challenge.valid_until.isoformat()}, "
        f"for a grant on exactly these terms; record the speaker reading the whole statement, code included.")


@consent_group.command("grant")
@click.argument("voice_id", type=Text())
@_subject
@_operator
@_purpose
@_expires
@click.option("--statement", type=click.Path(path_type=Path), default=None,
              help="Recording of the speaker reading `voiceguard consent template`.")
@click.option("--license", "license_text", default=None, type=Text(multiline=True), help="Licence text of a research corpus.")
@click.option("--language", "languages", multiple=True, default=("en",), show_default=True, type=Text(),
              help="A language tag the speaker consents to be cloned in: en, en-gb, de (repeatable; en covers "
                   "en-us and en-gb, en-us covers en-us only). Your declaration: the spoken statement names no "
                   "language, so it is not checked against the recording.")
@home_option
@json_option
def grant_command(voice_id: str, subject: str, operator: str, purposes: tuple[str, ...], expires: date,
                  statement: Path | None, license_text: str | None, languages: tuple[str, ...], home_dir: Path,
                  as_json: bool) -> None:
    """Record consent for VOICE_ID, with a spoken statement or a licence as evidence."""
    from guard.consent import grant

    home = open_home(home_dir)
    record = grant(home, voice_id=voice_id, subject=subject, operator=operator, purposes=purposes,
                   expires=expires, languages=languages, statement_wav=statement, license_text=license_text,
                   notify=lambda message: say(message, quiet=as_json))
    if as_json:
        emit_json(record.to_dict())
    else:
        say(f"Granted {_describe(record)}")
        click.echo(record.consent_id)


@consent_group.command("revoke")
@click.argument("consent_id", type=Text())
@click.option("--reason", required=True, type=Text(multiline=True, nonblank=True), help="Why consent is withdrawn (kept in the ledger).")
@home_option
@json_option
def revoke_command(consent_id: str, reason: str, home_dir: Path, as_json: bool) -> None:
    """Revoke CONSENT_ID: later clones are refused; the revocation is a ledger event."""
    from guard.consent import get, revoke

    home = open_home(home_dir)
    revoke(home, consent_id, reason=reason)
    record = get(home, consent_id)
    if as_json:
        emit_json(record.to_dict())
    else:
        say(f"Revoked {consent_id} (voice {record.voice_id}) at {record.revoked_at.isoformat()}")


@consent_group.command("list")
@home_option
@json_option
def list_command(home_dir: Path, as_json: bool) -> None:
    """List every consent with its status now."""
    from guard.consent import list_consents

    records = list_consents(open_home(home_dir))
    for record in records:
        if as_json:
            emit_json(record.to_dict())
        else:
            say(_describe(record))
    if not records and not as_json:
        say("No consents yet; `voiceguard consent grant --help` shows how to record one.")


@consent_group.command("show")
@click.argument("consent_id", type=Text())
@home_option
@json_option
def show_command(consent_id: str, home_dir: Path, as_json: bool) -> None:
    """Show one consent record in full.

    A spoken statement's recording is named where this home keeps it, also in a home moved or
    copied since the grant; with --json that path is "statement_file" (null for a licence) and
    "statement_present" says whether the file is there,
    while "evidence" holds the path as signed at the grant.
    """
    from guard.consent import get

    home = open_home(home_dir)
    record = get(home, consent_id)
    if as_json:
        kept = statement_file(record, home)
        emit_json({**record.to_dict(), "statement_file": kept,
                   "statement_present": None if kept is None else Path(kept).is_file()})
        return
    for line in show_lines(record, home=home):
        say(line)
