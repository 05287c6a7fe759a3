"""WSOLA (``eval.wsola``) and the ``wsola`` self-play family: tempo changed, pitch and level kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import median_f0, voiced_glide, write_glide_speakers

from guard import errors

SR = 16000


@pytest.mark.parametrize("rate", [0.8, 1.25, 2.0])
def test_tempo_changes_length_but_not_pitch_or_level(rate: float) -> None:
    from eval.wsola import wsola

    y = voiced_glide(seed=1)
    out = wsola(y, sample_rate=SR, rate=rate)
    assert out.shape == (round(y.shape[0] / rate),) and np.all(np.isfinite(out))
    assert median_f0(out) == pytest.approx(median_f0(y), rel=0.03)
    assert np.sqrt(np.mean(out**2)) == pytest.approx(np.sqrt(np.mean(y**2)), rel=1e-4)


def test_grains_follow_the_waveform_so_a_tone_stays_a_clean_tone() -> None:
    # A steady 200 Hz tone stretched by WSOLA stays a 200 Hz tone with almost no other energy:
    # each grain is moved to continue the previous one in phase.
    from eval.wsola import wsola

    t = np.arange(SR) / SR
    out = wsola((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), sample_rate=SR, rate=1.3)[1000:-1000]
    spec = np.abs(np.fft.rfft(out * np.hanning(out.size))) ** 2
    freqs = np.fft.rfftfreq(out.size, 1 / SR)
    assert spec[np.abs(freqs - 200) < 10].sum() > 0.99 * spec.sum()


def test_silence_stays_silent() -> None:
    from eval.wsola import wsola

    assert not np.any(wsola(np.zeros(SR, np.float32), sample_rate=SR, rate=1.2))


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"rate": 0.0}, "ParameterError", "rate must be within 0.5-2.0"),
    ({"rate": 3.0}, "ParameterError", "rate must be within"),
    ({"rate": float("nan")}, "ParameterError", "rate must be within"),
    ({"frame_s": 0.0}, "ParameterError", "need frame_s > 0 and search_s > 0"),
    ({"search_s": -1.0}, "ParameterError", "need frame_s > 0 and search_s > 0"),
    ({"sample_rate": 0}, "ParameterError", "sample_rate must be within"),
    ({"y": np.zeros((2, SR), np.float32)}, "AudioError", "mono"),
    ({"y": np.full(SR, np.inf, np.float32)}, "AudioError", "NaN"),
])
def test_bad_input_is_refused_with_one_clear_error(kwargs: dict, error: str, match: str) -> None:
    from eval.wsola import wsola

    args = {"y": voiced_glide(0.5), "sample_rate": SR, "rate": 1.2} | kwargs
    y = args.pop("y")
    with pytest.raises(getattr(errors, error), match=match):
        wsola(y, **args)


def test_cli_train_families_puts_wsola_in_train_and_dev_only(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from eval.datasets import load_dataset
    from eval.selfplay import command

    src = write_glide_speakers(tmp_path / "real", 6)
    common = ["--librispeech", str(src), "--asterisk", str(tmp_path / "none"), "--no-cloner", "-q", "--test-families", "lpc"]
    res = CliRunner().invoke(command, ["-o", str(tmp_path / "c"), *common, "--train-families", "wsola,world",
                                       "--dev-only-families", "cepvoc"])
    assert res.exit_code == 0, res.output
    rows = load_dataset("csv", tmp_path / "c" / "manifest.csv")
    assert {it.attack for it in rows if it.split == "train" and it.label == "spoof"} <= {"wsola", "world"}
    assert "wsola" in {it.attack for it in rows if it.split != "test"} and "wsola" not in {it.attack for it in rows if it.split == "test"}
    res = CliRunner().invoke(command, ["-o", str(tmp_path / "none"), *common, "--train-families", ","])
    assert res.exit_code == 1 and "no training family" in res.output and not (tmp_path / "none").exists()
