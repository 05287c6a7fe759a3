"""Synthetic personas: espeak-ng voices given their own pitch, rate and timbre.

A persona is *synthetic speech*, never a real person. Its timbre comes from warping the
WORLD spectral envelope along frequency (moving every formant by ``warp``) and scaling F0;
tests and the demo use personas to record a consent statement and the enrollment script,
grant consent and enroll them like any consenting speaker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cloner import tts, world
from guard.audio import check_sample_rate
from guard.errors import ParameterError


@dataclass(frozen=True)
class Persona:
    """A synthetic speaker.

    Attributes
    ----------
    name : str
    espeak_voice : str
        espeak-ng voice with variant, e.g. ``"en-us+f3"``.
    pitch, pitch_range : int in 0-99
        espeak-ng base pitch and intonation range.
    rate_wpm : int in 80-450
    warp : float in [0.8, 1.25]
        Spectral-envelope frequency warp: > 1 raises every formant (shorter vocal tract).
    f0_scale : float in [0.5, 2]
        Multiplies F0 after synthesis.
    """

    name: str
    espeak_voice: str
    pitch: int
    pitch_range: int
    rate_wpm: int
    warp: float
    f0_scale: float

    def speak(self, text: str, *, sample_rate: int) -> np.ndarray:
        """Say ``text`` in this persona's voice.

        Parameters
        ----------
        text : str
        sample_rate : int in :data:`cloner.world.SAMPLE_RATES`

        Returns
        -------
        y : np.ndarray [shape=(n,), dtype=float32], peak 0.5.
        """
        sample_rate = world.check_world_rate(check_sample_rate(sample_rate))
        y = tts.synthesize(text, voice=self.espeak_voice, rate_wpm=self.rate_wpm, pitch=self.pitch,
                           pitch_range=self.pitch_range, sample_rate=sample_rate)
        feats = world.analyze(y, sample_rate=sample_rate)
        warped = world.WorldFeatures(feats.f0_hz * self.f0_scale, warp_mcep(feats.mcep, sample_rate=sample_rate, warp=self.warp),
                                     feats.bap, sample_rate)
        z = world.synthesize(warped)
        peak = float(np.max(np.abs(z))) or 1.0
        return (0.5 * z / peak).astype(np.float32)


def warp_mcep(mcep: np.ndarray, *, sample_rate: int, warp: float) -> np.ndarray:
    """Move formants: the envelope at frequency f becomes the old envelope at f / warp.

    Parameters
    ----------
    mcep : np.ndarray [shape=(t, d)]
        Coded envelope from :func:`cloner.world.analyze`.
    sample_rate : int
    warp : float in [0.8, 1.25]

    Returns
    -------
    np.ndarray [shape=(t, d)]
    """
    if not 0.8 <= warp <= 1.25:
        raise ParameterError(f"warp must be within 0.8-1.25, given warp={warp}")
    import pyworld  # noqa: PLC0415 - world.py already silenced its import warning

    n_fft = world.fft_size(sample_rate)
    sp = pyworld.decode_spectral_envelope(np.ascontiguousarray(mcep, dtype=np.float64), sample_rate, n_fft)
    bins = np.arange(sp.shape[1], dtype=np.float64)
    source_bins = np.clip(bins / warp, 0, sp.shape[1] - 1)
    log_sp = np.log(sp)
    warped = np.stack([np.interp(source_bins, bins, row) for row in log_sp])
    return pyworld.code_spectral_envelope(np.exp(warped), sample_rate, mcep.shape[1])


# Chosen so that the speech recogniser that checks consent statements still understands
# them (pocketsphinx match score >= 0.56 on the statement, threshold 0.45), while pitch,
# rate, accent and formants differ from the plain TTS voice that cloning starts from.
PERSONAS: dict[str, Persona] = {
    p.name: p
    for p in (
        Persona("nova", "en-us+f2", pitch=60, pitch_range=60, rate_wpm=165, warp=1.05, f0_scale=1.0),
        Persona("orson", "en-gb-x-rp+m1", pitch=35, pitch_range=45, rate_wpm=150, warp=0.94, f0_scale=0.9),
        Persona("juniper", "en-gb-x-rp+f2", pitch=50, pitch_range=60, rate_wpm=180, warp=1.05, f0_scale=1.0),
    )
}


def get(name: str) -> Persona:
    """The persona called ``name``; ParameterError listing the names otherwise."""
    try:
        return PERSONAS[name]
    except KeyError:
        raise ParameterError(f"no persona {name!r}; personas are {', '.join(PERSONAS)}") from None


def record_script(persona: Persona, folder: Path, *, sample_rate: int, sentences: Sequence[str] | None = None) -> Path:
    """Write the persona reading ``sentences`` (default: the whole enrollment script) as ``NN.wav`` + ``NN.txt``.

    Numbered from 01 as ``voiceguard enroll --print-script`` numbers them
    (:func:`cloner.script.recording_name`): the first sentence is ``01.wav`` + ``01.txt``.

    Parameters
    ----------
    persona : Persona
    folder : Path
        Created when missing; the layout ``voiceguard enroll --recordings`` reads.
    sample_rate : int in :data:`cloner.world.SAMPLE_RATES`
    sentences : sequence of str, optional

    Returns
    -------
    folder : Path
    """
    from cloner.script import SENTENCES, recording_name
    from guard.audio import save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for number, text in enumerate(SENTENCES if sentences is None else sentences, start=1):
        name = recording_name(number)
        save(folder / f"{name}.wav", persona.speak(text, sample_rate=sample_rate), sample_rate=sample_rate)
        (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    return folder
