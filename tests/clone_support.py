"""Helpers for the cloning tests: a persona's consent statement and recorded script, in code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cloner import personas
from guard.audio import save

SR = 16000
PURPOSES = ("research", "audiobook")
# A fixed day, not "today + n": the statement's words (and so how well the recogniser hears
# them) stay the same from one day to the next.
EXPIRES = date(date.today().year + 2, 1, 1)
# The one-time consent code the tests' statements end with: `consent template` draws a random one,
# the tests log this one (issue_code) so that the words read, and how well they are heard, repeat.
STATEMENT_CODE = "471926"
# The terms persona nova's statement names (the nova_statement fixture), until EXPIRES.
NOVA_TERMS = {"subject": "persona nova (synthetic)", "operator": "voiceguard tests", "purposes": ["research", "audiobook"]}


def issue_code(home, *, subject: str, operator: str, purposes, expires, code: str = STATEMENT_CODE,  # noqa: ANN001
               days_ago: float = 0.0):  # noqa: ANN201
    """Log ``code`` in ``home`` for these terms as `consent template` logs a code it drew (``consent.challenge``),
    issued ``days_ago`` days ago (so expired after 14); the Challenge."""
    from datetime import datetime, timedelta, timezone

    from guard import ledger
    from guard.consent.challenge import Challenge, terms_sha256

    issued = datetime.now(timezone.utc) - timedelta(days=days_ago)
    draft = Challenge.draft(code=code, now=issued, terms_sha256=terms_sha256(subject=subject, operator=operator,
                                                                           purposes=purposes, expires=expires))
    ledger.append(home, "consent.challenge", draft.body())
    return draft


def record_script(folder: Path, persona: str, sentences: list[str] | tuple[str, ...]) -> Path:
    """Write ``NN.wav`` + ``NN.txt`` of ``persona`` reading ``sentences`` into ``folder``."""
    return personas.record_script(personas.get(persona), folder, sample_rate=SR, sentences=sentences)


def grant_statement(home, voice_id: str, persona: str, work: Path, *, purposes=PURPOSES):  # noqa: ANN001, ANN201
    """Grant consent for ``voice_id`` with ``persona`` reading the statement with its code (synthetic speech)."""
    from guard import consent
    from guard.consent.template import statement_text

    terms = {"subject": f"persona {persona} (synthetic)", "operator": "voiceguard tests", "purposes": list(purposes),
             "expires": EXPIRES}
    issue_code(home, **terms)
    text = statement_text(**terms, code=STATEMENT_CODE)
    wav = save(work / f"statement-{voice_id}.wav", personas.get(persona).speak(text, sample_rate=SR), sample_rate=SR)
    return consent.grant(home, voice_id=voice_id, statement_wav=wav, **terms)


def install_tiny_voice(home, consent_id: str, *, recordings: tuple[str, ...] = (), log: bool = True,  # noqa: ANN001
                       voice_id: str = "amy") -> Path:
    """A tiny untrained voice model for ``voice_id`` saved in ``home`` (seeded), with ``recordings`` kept beside it
    (``NAME.flac`` + ``NAME.txt``) and, with ``log``, its ``voice.enrolled`` event naming them; the voice's folder."""
    import numpy as np
    import torch

    from cloner import voice
    from cloner.convert import ConversionNet, ConvertConfig, F0Map, Normaliser
    from guard import ledger

    torch.manual_seed(0)
    model = voice.VoiceModel(
        voice_id=voice_id, consent_id=consent_id, sample_rate=16000, tts=voice.TTSSettings("en-us", 160, 40, 50),
        config=ConvertConfig(hidden=8, kernel=3, steps=1), in_norm=Normaliser(np.zeros(4), np.ones(4)),
        out_norm=Normaliser(np.zeros(3), np.ones(3)), f0_map=F0Map(4.8, 0.2, 5.2, 0.25), target_gv=np.full(3, 0.1),
        pause_s=0.4, net=ConversionNet(4, 3, hidden=8, kernel=3).eval(), postfilter=None,
        created_at="2026-01-01T00:00:00+00:00", training={"speech_s": 65.0})
    folder = voice.voice_folder(home, voice_id)
    digest = voice.save_voice(model, folder)
    if recordings:
        (folder / "recordings").mkdir()
    for name in recordings:
        (folder / "recordings" / f"{name}.flac").write_bytes(f"recording {name}".encode())
        (folder / "recordings" / f"{name}.txt").write_text(f"sentence {name}\n")
    if log:
        ledger.log_enrollment(home, voice_id=voice_id, consent_id=consent_id,
                              files={f"{name}.wav": f"{i:02x}" * 32 for i, name in enumerate(recordings or ("a",))},
                              model_sha256=digest, model_version=str(voice.FORMAT_VERSION),
                              model_path=folder / voice.WEIGHTS_FILE)
    return folder
