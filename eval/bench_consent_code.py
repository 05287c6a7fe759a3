"""How often a spoken grant accepts a persona reading its statement with the right one-time code, and refuses a wrong one.

For each synthetic persona (:mod:`cloner.personas`: espeak-ng voices, never a real person) and
each of ``--codes`` trials, seeded terms (a subject, an operator, one or two purposes, an expiry
one to three years ahead) and a seeded 6-digit code are drawn; the code is logged as
``voiceguard consent template`` logs one (a ``consent.challenge`` event, its digits drawn from
the seed instead of the system's random source, so that runs repeat). Then, through the real
:func:`guard.consent.grant`, in homes of their own:

- ``right``: the persona reads the statement with that code: accepted?
- ``wrong``: the persona reads the statement with another random 6-digit code (never issued): refused?
- ``one_digit``: the statement with the code changed in one digit: refused?

and, for comparison, ``no_code``: the check as it was before codes (the statement without its
code sentence, decoded and scored on its terms alone by
:func:`guard.consent.statement.match_statement` with ``code=None``): accepted?

Run: ``voiceguard bench consent-code [--personas nova,orson,juniper] [--codes 10] [--seed 0] [--json]``.

Measured (seed 0, nova, orson and juniper x 10): ``right`` accepted 19/30 (nova 8, orson 2,
juniper 9), ``no_code`` 23/30 (nova 9, orson 4, juniper 10: the same figures as the grant gave
these statements before codes existed), ``wrong`` refused 30/30, ``one_digit`` refused 30/30. Of
the 11 refused right readings, 6 fail on the terms as without a code (a name, a purpose or the
date misheard) and 5 on the code (a final "nine" heard as "high", "on" or "are"; "one nine" as
"one one"; "five eight" as "may"). Before "four" was given its other pronunciations
(:data:`guard.asr.EXTRA_PRONUNCIATIONS`), ``right`` was 10/30.

:func:`grant_read_statement` is how the demo and the benchmarks have a persona consent: the way an
operator would, reading again with a new code when the check refuses a reading.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from pathlib import Path

import click
import numpy as np

from guard.cliutil import (
    OutputFolder,
    emit_json,
    json_option,
    progress,
    quiet_option,
    say,
    seed_option,
    to_json,
)
from guard.errors import ConsentError, GuardError, ParameterError

RATE = 16000
SUBJECTS = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Mary Somerville", "Charles Babbage", "Emmy Noether",
            "Nikola Tesla", "Marie Curie", "Rosalind Franklin", "James Maxwell")
OPERATORS = ("Example Studio", "Acme Audio", "Northwind Games", "Harbour Books", "Lighthouse Media")
KINDS = ("right", "wrong", "one_digit", "no_code")


def grant_read_statement(home, persona, *, voice_id: str, terms: dict, wav: Path, sample_rate: int,  # noqa: ANN001
                         attempts: int = 5, notify: Callable[[str], None] | None = None) -> tuple:
    """Grant consent for ``voice_id`` with ``persona`` reading the statement ``voiceguard consent template`` gives.

    Each reading gets a fresh code (:func:`guard.consent.template`, logged in ``home``); a reading
    the grant refuses (the recogniser misses a word or a digit of a synthetic voice now and then:
    see the module docstring) is read again with a new code, up to ``attempts`` readings, as an
    operator would ask the speaker to.

    Parameters
    ----------
    home : Home
    persona : cloner.personas.Persona
    voice_id : str
    terms : dict
        ``subject``, ``operator``, ``purposes``, ``expires`` of the consent.
    wav : Path
        Where the reading is saved (each new reading replaces the last).
    sample_rate : int
    attempts : int >= 1
    notify : callable(str), optional
        Told why a reading was refused before it is read again.

    Returns
    -------
    consent : Consent
    statement : str
        The statement read, its code included.
    wav : Path
    """
    from guard import consent
    from guard.audio import save

    if attempts < 1:
        raise ParameterError(f"attempts must be at least 1, given attempts={attempts}")

    def read_and_grant() -> tuple:
        statement = consent.template(home, **terms)
        save(wav, persona.speak(statement, sample_rate=sample_rate), sample_rate=sample_rate)
        return consent.grant(home, voice_id=voice_id, statement_wav=wav, **terms), statement, wav

    for attempt in range(1, attempts):
        try:
            return read_and_grant()
        except ConsentError as exc:
            if notify is not None:
                notify(f"reading {attempt} refused ({str(exc).removeprefix(f'{wav}: ')}); a new code was issued "
                       f"and read again")
    return read_and_grant()


def trial_terms(rng: np.random.Generator, *, today: date) -> tuple[dict, str]:
    """Seeded consent terms (subject, operator, purposes, expires) and a 6-digit code for one trial."""
    from guard.consent.record import PURPOSES

    subject = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
    operator = OPERATORS[int(rng.integers(len(OPERATORS)))]
    picked = sorted(rng.choice(len(PURPOSES), size=int(rng.integers(1, 3)), replace=False).tolist())
    expires = date(today.year + int(rng.integers(1, 4)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
    code = "".join(str(int(d)) for d in rng.integers(0, 10, size=6))
    return {"subject": subject, "operator": operator, "purposes": [PURPOSES[i] for i in picked],
            "expires": expires}, code


def other_code(rng: np.random.Generator, code: str, *, one_digit: bool) -> str:
    """A 6-digit code other than ``code``: a random one, or ``code`` with one digit changed."""
    if one_digit:
        place = int(rng.integers(len(code)))
        digit = str((int(code[place]) + int(rng.integers(1, 10))) % 10)
        return code[:place] + digit + code[place + 1:]
    while True:
        drawn = "".join(str(int(d)) for d in rng.integers(0, 10, size=len(code)))
        if drawn != code:
            return drawn


def log_code(home, terms: dict, code: str) -> None:  # noqa: ANN001 - a guard Home
    """Log ``code`` for ``terms`` as ``voiceguard consent template`` does (a ``consent.challenge`` event)."""
    from guard import ledger
    from guard.consent.challenge import Challenge, terms_sha256

    draft = Challenge.draft(code=code, terms_sha256=terms_sha256(**terms), now=datetime.now(timezone.utc))
    ledger.append(home, "consent.challenge", draft.body())


def _granted(home, wav: Path, voice_id: str, terms: dict) -> tuple[bool, str]:  # noqa: ANN001
    """Whether the real grant accepts ``wav`` for ``terms``, and its refusal (without the file name)."""
    from guard import consent

    try:
        consent.grant(home, voice_id=voice_id, statement_wav=wav, **terms)
    except ConsentError as exc:
        return False, str(exc).removeprefix(f"{wav}: ")
    return True, ""


def _accepted_without_code(wav: Path, terms: dict) -> tuple[bool, str]:
    """The check before codes: the terms alone, read from the file, decoded and scored as the grant did then."""
    from guard.audio import load
    from guard.consent.evidence import EMBED_RATE
    from guard.consent.statement import match_statement
    from guard.consent.verdict import statement_refusal

    match = match_statement(load(wav, sample_rate=EMBED_RATE), sample_rate=EMBED_RATE, **terms, code=None)
    reason = statement_refusal(match, day=terms["expires"])
    return reason is None, reason or ""


def run_trial(persona, homes: dict, i: int, terms: dict, codes: dict[str, str], work: Path) -> list[dict]:  # noqa: ANN001
    """One trial of one persona: each kind of recording and what the check made of it."""
    from guard.audio import save
    from guard.consent.template import statement_text, terms_text

    rows = []
    for kind in KINDS:
        text = terms_text(**terms) if kind == "no_code" else statement_text(**terms, code=codes[kind])
        wav = save(work / f"{persona.name}-{i:02d}-{kind}.wav", persona.speak(text, sample_rate=RATE), sample_rate=RATE)
        if kind == "no_code":
            ok, why = _accepted_without_code(wav, terms)
        else:
            ok, why = _granted(homes[kind], wav, f"{persona.name}-{i:02d}", terms)
        rows.append({"persona": persona.name, "trial": i, "kind": kind, "accepted": ok, "code": codes.get(kind),
                     "subject": terms["subject"], "purposes": terms["purposes"],
                     "expires": terms["expires"].isoformat(), "refusal": why})
    return rows


def measure(names: Sequence[str], *, n_codes: int, seed: int, silent: bool) -> dict:
    """Run every trial (see the module docstring); the rows and the fractions per kind and persona."""
    from cloner import personas
    from guard.home import init_home

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="voiceguard-bench-code-") as tmp:
        work = Path(tmp)
        for name in names:
            persona = personas.get(name)
            homes = {kind: init_home(work / f"{name}-{kind}")[0] for kind in KINDS if kind != "no_code"}
            rng = np.random.default_rng(seed)  # the same terms and codes for every persona
            others = np.random.default_rng([seed, 1])  # wrong codes apart: the terms do not depend on them
            for i in progress(range(n_codes), silent=silent, desc=f"consent codes ({name})"):
                terms, code = trial_terms(rng, today=date.today())
                codes = {"right": code, "wrong": other_code(others, code, one_digit=False),
                         "one_digit": other_code(others, code, one_digit=True)}
                for home in homes.values():
                    log_code(home, terms, code)
                rows += run_trial(persona, homes, i, terms, codes, work)
    return {"rows": rows, "seed": seed, "personas": list(names), "codes_per_persona": n_codes,
            **summarise(rows, names)}


def summarise(rows: Sequence[dict], names: Sequence[str]) -> dict:
    """Accepted fractions per kind, overall and per persona (``wrong``/``one_digit`` are best at 0)."""
    def fraction(kind: str, persona: str | None = None) -> float:
        hits = [r["accepted"] for r in rows if r["kind"] == kind and persona in (None, r["persona"])]
        return round(float(np.mean(hits)), 3) if hits else float("nan")

    return {"accepted_fraction": {k: fraction(k) for k in KINDS},
            "accepted_by_persona": {n: {k: fraction(k, n) for k in KINDS} for n in names},
            "trials": {k: sum(r["kind"] == k for r in rows) for k in KINDS}}


@click.command("consent-code")
@click.option("--personas", "names", default="nova,orson,juniper", show_default=True,
              help="Comma-separated synthetic personas (cloner.personas).")
@click.option("--codes", "n_codes", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Trials (terms and code) per persona.")
@click.option("--out", type=OutputFolder(), default=None, help="Write consent_code.json here.")
@seed_option
@json_option
@quiet_option
def command(names: str, n_codes: int, out: Path | None, seed: int, as_json: bool, quiet: bool) -> None:
    """Acceptance of statements read with the right consent code, refusal of wrong codes (espeak-ng personas)."""
    from cloner import personas

    chosen = [n.strip() for n in names.split(",") if n.strip()]
    try:
        if not chosen:
            raise ParameterError(f"no persona named; personas are {', '.join(personas.PERSONAS)}")
        for name in chosen:
            personas.get(name)  # an unknown persona: a usage error before any work
    except GuardError as exc:
        raise click.BadParameter(str(exc), param_hint="'--personas'") from None
    try:  # also when run as `python -m eval.bench_consent_code`, outside voiceguard's own error handling
        result = measure(chosen, n_codes=n_codes, seed=seed, silent=as_json or quiet)
    except GuardError as exc:
        raise click.ClickException(str(exc)) from None
    if out is not None:
        (out / "consent_code.json").write_text(to_json(result, indent=2))
    if as_json:
        emit_json(result)
        return
    for line in summary_lines(result):
        say(line, quiet=quiet)


def summary_lines(result: dict) -> list[str]:
    """The figures for people, one line each."""
    a, n = result["accepted_fraction"], result["trials"]
    lines = [f"right code accepted: {a['right']:.0%} of {n['right']} (the same statements without a code, checked "
             f"as before codes: {a['no_code']:.0%} of {n['no_code']})",
             f"wrong code refused: {1 - a['wrong']:.0%} of {n['wrong']} (random other code); "
             f"{1 - a['one_digit']:.0%} of {n['one_digit']} (one digit changed)"]
    for name, by in result["accepted_by_persona"].items():
        lines.append(f"  {name:8s} right {by['right']:.0%}  no code {by['no_code']:.0%}  wrong accepted "
                     f"{by['wrong']:.0%}  one digit accepted {by['one_digit']:.0%}")
    return lines


if __name__ == "__main__":
    command()
