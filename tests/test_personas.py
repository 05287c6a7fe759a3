"""Synthetic personas: their own pitch, rate and formants."""

from __future__ import annotations

import numpy as np
import pytest

from cloner import personas, tts, world
from guard.errors import ParameterError

SR = 16000
TEXT = "Please bring the yellow towels and the soap up to the bathroom."


def _median_f0(y: np.ndarray) -> float:
    f0 = world.analyze(y, sample_rate=SR).f0_hz
    return float(np.median(f0[f0 > 0]))


def test_personas_differ_in_pitch_and_rate() -> None:
    nova, orson = personas.get("nova"), personas.get("orson")
    a, b = nova.speak(TEXT, sample_rate=SR), orson.speak(TEXT, sample_rate=SR)
    assert a.dtype == np.float32 and np.max(np.abs(a)) == pytest.approx(0.5, abs=1e-3)
    assert _median_f0(a) > 1.5 * _median_f0(b)
    assert a.shape[0] != b.shape[0]


def test_warp_moves_the_spectral_envelope_up() -> None:
    y = tts.synthesize(TEXT, sample_rate=SR)
    mcep = world.analyze(y, sample_rate=SR).mcep
    import pyworld

    n_fft = world.fft_size(SR)
    def centroid(m: np.ndarray) -> float:
        sp = pyworld.decode_spectral_envelope(np.ascontiguousarray(m), SR, n_fft)
        freqs = np.linspace(0, SR / 2, sp.shape[1])
        return float(np.mean((sp * freqs).sum(1) / sp.sum(1)))

    up = personas.warp_mcep(mcep, sample_rate=SR, warp=1.2)
    down = personas.warp_mcep(mcep, sample_rate=SR, warp=0.85)
    assert centroid(down) < centroid(mcep) < centroid(up)
    assert np.allclose(personas.warp_mcep(mcep, sample_rate=SR, warp=1.0), mcep, atol=0.05)


@pytest.mark.parametrize("warp", [0.5, 1.3, 2.0])
def test_warp_out_of_range(warp: float) -> None:
    with pytest.raises(ParameterError, match="warp"):
        personas.warp_mcep(np.zeros((3, 40)), sample_rate=SR, warp=warp)


def test_unknown_persona_lists_the_known_ones() -> None:
    with pytest.raises(ParameterError, match="nova"):
        personas.get("nobody")


def test_persona_rejects_unsupported_rate() -> None:
    with pytest.raises(ParameterError, match="sample_rate"):
        personas.get("nova").speak(TEXT, sample_rate=22050)


def test_record_script_writes_the_enrollment_layout(tmp_path) -> None:  # noqa: ANN001
    from cloner.recordings import read_recordings

    folder = personas.record_script(personas.get("juniper"), tmp_path / "rec", sample_rate=8000,
                                    sentences=["One short line.", "And another one here."])
    recs = read_recordings(folder)
    # numbered from 01, as `enroll --print-script` numbers the sentences to record
    assert [r.name for r in recs] == ["01", "02"] and recs[1].text == "And another one here."
    assert recs[0].original_rate == 8000
