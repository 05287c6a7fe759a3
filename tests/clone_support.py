"""Helpers for the cloning tests: a persona's consent statement and recorded script, in code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cloner import personas, script
from guard.audio import save

SR = 16000
PURPOSES = ("research", "audiobook")
# A fixed day, not "today + n": the statement's words (and so how well the recogniser hears
# them) stay the same from one day to the next.
EXPIRES = date(date.today().year + 2, 1, 1)


def record_script(folder: Path, persona: str, sentences: list[str] | tuple[str, ...]) -> Path:
    """Write ``NN.wav`` + ``NN.txt`` of ``persona`` reading ``sentences`` into ``folder``."""
    return personas.record_script(personas.get(persona), folder, sample_rate=SR, sentences=sentences)


def grant_statement(home, voice_id: str, persona: str, work: Path, *, purposes=PURPOSES):  # noqa: ANN001, ANN201
    """Grant consent for ``voice_id`` with ``persona`` reading the statement (synthetic speech)."""
    from guard import consent

    expires = EXPIRES.isoformat()
    subject = f"persona {persona} (synthetic)"
    text = script.consent_statement(subject=subject, operator="voiceguard tests", purposes=purposes, expires=expires)
    wav = save(work / f"statement-{voice_id}.wav", personas.get(persona).speak(text, sample_rate=SR), sample_rate=SR)
    return consent.grant(home, voice_id=voice_id, subject=subject, operator="voiceguard tests",
                         purposes=list(purposes), expires=expires, statement_wav=wav)
