"""TD-PSOLA (``eval.psola``) and the ``psola`` self-play family: pitch moved by the factor, the rest kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import median_f0, voiced_glide, write_glide_speakers

SR = 16000


@pytest.mark.parametrize("semitones", [-4.0, -2.0, 3.0])
def test_psola_moves_the_pitch_by_the_factor_and_keeps_length_and_level(semitones: float) -> None:
    from eval.psola import td_psola
    from eval.selfplay_families import _f0_track

    y = voiced_glide()
    factor = 2.0 ** (semitones / 12)
    out = td_psola(y, sample_rate=SR, factor=factor, f0=_f0_track(y, SR))
    assert out.shape == y.shape and out.dtype == np.float32 and np.all(np.isfinite(out))
    assert median_f0(out) / median_f0(y) == pytest.approx(factor, rel=0.03)
    assert np.sqrt(np.mean(out**2)) == pytest.approx(np.sqrt(np.mean(y**2)), rel=1e-4)


def test_unvoiced_input_comes_back_as_itself_up_to_level() -> None:
    from eval.psola import td_psola

    y = (0.05 * np.random.default_rng(1).standard_normal(SR)).astype(np.float32)
    out = td_psola(y, sample_rate=SR, factor=1.3, f0=np.zeros(101))
    # grains every 10 ms under Hann windows that sum to one: the same samples away from the edges
    np.testing.assert_allclose(out[400:-400], y[400:-400], atol=1e-3)


def test_pitch_marks_sit_on_the_pulses_one_period_apart() -> None:
    from eval.psola import pitch_marks

    y = np.zeros(SR, np.float32)
    y[37::128] = 1.0  # 125 Hz pulses
    marks, voiced = pitch_marks(y, np.full(101, 125.0), sample_rate=SR)
    assert voiced.all() and np.all(np.diff(marks) > 0)
    inner = marks[1:-1]
    assert np.all((inner - 37) % 128 == 0)  # every mark on a pulse after the first snap


def test_silence_and_too_few_marks_are_returned_unchanged() -> None:
    from eval.psola import td_psola

    assert not np.any(td_psola(np.zeros(SR, np.float32), sample_rate=SR, factor=1.2, f0=np.zeros(101)))
    short = np.ones(100, np.float32)
    np.testing.assert_array_equal(td_psola(short, sample_rate=SR, factor=1.2, f0=np.zeros(1)), short)


def test_psola_family_keeps_the_envelope_and_changes_the_waveform() -> None:
    from eval.selfplay_families import COPY_FAMILIES

    y = voiced_glide(seed=2)
    out = COPY_FAMILIES["psola"](y, SR, np.random.default_rng(3))
    assert np.corrcoef(out, y)[0, 1] < 0.5
    ratio = median_f0(out) / median_f0(y)
    assert min(abs(ratio - 2.0 ** (s / 12)) for s in (-4, -3, -2, 2, 3, 4)) < 0.03


def test_cli_test_families_chooses_the_test_split_and_rejects_unknown_ones(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from eval.datasets import load_dataset
    from eval.selfplay import command

    src = write_glide_speakers(tmp_path / "real", 6)
    common = ["--librispeech", str(src), "--asterisk", str(tmp_path / "none"), "--no-cloner", "-q"]
    res = CliRunner().invoke(command, ["-o", str(tmp_path / "bad"), *common, "--test-families", "psola,nosuch"])
    assert res.exit_code == 1 and "unknown generator families ['nosuch']" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "bad").exists()  # refused before anything is written
    res = CliRunner().invoke(command, ["-o", str(tmp_path / "none"), *common, "--test-families", ","])
    assert res.exit_code == 1 and "no test family" in res.output and not (tmp_path / "none").exists()
    res = CliRunner().invoke(command, ["-o", str(tmp_path / "twice"), *common, "--test-families", "psola",
                                       "--dev-only-families", "psola"])
    assert res.exit_code == 1 and "in both training and test" in res.output and not (tmp_path / "twice").exists()
    res = CliRunner().invoke(command, ["-o", str(tmp_path / "c"), *common, "--test-families", "psola",
                                       "--dev-only-families", "griffinlim"])
    assert res.exit_code == 0, res.output
    rows = load_dataset("csv", tmp_path / "c" / "manifest.csv")
    assert {it.attack for it in rows if it.split == "test" and it.label == "spoof"} == {"psola"}
    assert "psola" not in {it.attack for it in rows if it.split != "test"}
    assert "griffinlim" in {it.attack for it in rows if it.split == "dev"}


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"factor": 0.0}, "ParameterError", "factor must be within 0.25-4.0"),
    ({"factor": -1.2}, "ParameterError", "factor must be within"),
    ({"factor": float("nan")}, "ParameterError", "factor must be within"),
    ({"factor": float("inf")}, "ParameterError", "factor must be within"),
    ({"factor": 1e20}, "ParameterError", "factor must be within"),
    ({"sample_rate": 0}, "ParameterError", "sample_rate must be within"),
    ({"y": np.zeros((2, SR), np.float32)}, "AudioError", "mono"),
    ({"y": np.zeros(0, np.float32)}, "AudioError", "at least 1"),
    ({"y": np.full(SR, np.nan, np.float32)}, "AudioError", "NaN"),
    ({"f0": np.zeros((2, 50))}, "ParameterError", "f0 must be a 1-D array"),
    ({"f0": np.full(101, -5.0)}, "ParameterError", "f0 must be a 1-D array"),
])
def test_bad_input_is_refused_with_one_clear_error(kwargs: dict, error: str, match: str) -> None:
    from eval.psola import td_psola
    from guard import errors

    args = {"y": np.zeros(SR, np.float32), "sample_rate": SR, "factor": 1.2, "f0": np.zeros(101)} | kwargs
    y = args.pop("y")
    with pytest.raises(getattr(errors, error), match=match):
        td_psola(y, **args)
