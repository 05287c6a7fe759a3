"""Clips from voiceguard's own cloner, for `voiceguard bench watermark --cloned`.

The watermark must be measured on what the pipeline really marks. Each synthetic persona
(:mod:`cloner.personas`: espeak-ng voices with their own pitch, rate and timbre) reads the
first enrollment sentences, consents by reading the consent statement (purpose
``research``), and is enrolled in a throw-away home with the demo's fast conversion
config. The clips are then :func:`cloner.pipeline.speak` of the held-out script sentences:
the pipeline's output just before :func:`cloner.pipeline.mark`, so the benchmark's own
:func:`guard.watermark.embed` call makes exactly what ``voiceguard clone`` writes (with the
bench's key instead of the home's). The unmarked clones live only in memory and the home
is deleted afterwards.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np

RATE = 16000
PURPOSE = "research"
ENROLL_SENTENCES = 40  # about 2 min of persona speech; the rest of the script is held out
OPERATOR = "voiceguard watermark benchmark"


def cloned_clips(n_clips: int, *, duration_s: float, seed: int, personas: Sequence[str] = ("nova", "orson"),
                 progress: bool = False) -> Iterator[tuple[str, np.ndarray]]:
    """``n_clips`` cloned clips of ``duration_s`` seconds at 16 kHz, the personas taking turns.

    Parameters
    ----------
    n_clips : int >= 1
    duration_s : float > 0
        Each clip is held-out sentences said in one voice, joined until this long, then cut.
    seed : int
        Seeds enrollment training and the choice of sentences.
    personas : sequence of str
        Names in :data:`cloner.personas.PERSONAS`.
    progress : bool
        Enrollment progress on stderr.

    Yields
    ------
    name : str
    y : np.ndarray [shape=(round(duration_s * 16000),), dtype=float32]
    """
    from cloner.pipeline import speak
    from cloner.script import sentences
    from guard import consent

    script = sentences()
    held_out = list(script[ENROLL_SENTENCES:])
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * RATE))
    with tempfile.TemporaryDirectory(prefix="vg-bench-cloned-") as tmp:
        home, models = _enroll_personas(Path(tmp), personas, script[:ENROLL_SENTENCES], seed=seed, progress=progress)
        for i in range(n_clips):
            name = personas[i % len(personas)]
            model = models[name]
            consent.check_enrolled(home, model.voice_id, PURPOSE, enrolled_under=model.consent_id)
            parts, total = [], 0
            while total < n:
                part = speak(model, held_out[int(rng.integers(len(held_out)))])
                parts.append(part)
                total += part.shape[0]
            yield f"clone-{i:03d}-{name}", np.concatenate(parts)[:n].astype(np.float32)


def _enroll_personas(work: Path, names: Sequence[str], texts: Sequence[str], *, seed: int,
                     progress: bool) -> tuple[object, dict]:
    """A throw-away home with each persona consented (spoken statement) and enrolled."""
    from cloner import personas
    from cloner.convert import ConvertConfig
    from cloner.enroll import enroll
    from cloner.voice import load_voice
    from eval.bench_consent_code import grant_read_statement
    from guard.home import init_home

    home, _ = init_home(work / "home")
    expires = date.today() + timedelta(days=30)
    models = {}
    for name in names:
        persona = personas.get(name)
        terms = {"subject": name.title(), "operator": OPERATOR, "purposes": [PURPOSE], "expires": expires}
        grant, _, _ = grant_read_statement(home, persona, voice_id=f"{name}-bench", terms=terms,
                                           wav=work / f"{name}-statement.wav", sample_rate=RATE)
        recordings = personas.record_script(persona, work / f"{name}-recordings", sample_rate=RATE, sentences=texts)
        enroll(home, f"{name}-bench", recordings_dir=recordings, consent_id=grant.consent_id,
               config=ConvertConfig.fast(), seed=seed, progress=progress, warn=lambda m: None)
        models[name] = load_voice(home, f"{name}-bench")
    return home, models
