"""`voiceguard bench clone`'s summary figures: the WER gap against TTS-only (the bar's) and against the real recordings.

The measurement (minutes per voice) is replaced by a canned one built from chosen mean
metrics; what is tested is how the command sums them up, in the JSON and on stderr.
"""

from __future__ import annotations

import json

import pytest

from eval.bench_clone import GAP_DEFINITIONS, TARGETS, gaps
from guard.cli import cli


def _summary(*, clone_wer: float, tts_wer: float, real_wer: float) -> dict:
    return {"tts": {"mcd_db": 20.0, "f0_rmse_cents": 200.0, "f0_corr": 0.5, "similarity": 0.64, "wer": tts_wer},
            "clone": {"mcd_db": 12.0, "f0_rmse_cents": 100.0, "f0_corr": 0.8, "similarity": 0.69, "wer": clone_wer},
            "real": {"similarity": 0.95, "wer": real_wer}}


@pytest.mark.parametrize(
    ("wers", "wer_gap", "vs_real"),
    [
        ((0.29, 0.87, 0.06), -0.58, 0.23),  # the README's asterisk row: 23 points over the real voice
        ((0.0909, 0.7273, 0.0), -0.6364, 0.0909),  # the QA report's nova run
        ((0.07, 0.39, 0.17), -0.32, -0.10),  # a clone heard better than the real recordings
    ],
)
def test_wer_gap_is_clone_minus_tts_and_vs_real_is_given_beside_it(wers: tuple[float, float, float], wer_gap: float,
                                                                   vs_real: float) -> None:
    clone_wer, tts_wer, real_wer = wers
    result = gaps(_summary(clone_wer=clone_wer, tts_wer=tts_wer, real_wer=real_wer))
    assert result["wer_gap"] == pytest.approx(wer_gap, abs=1e-9)
    assert result["wer_gap_vs_real"] == pytest.approx(vs_real, abs=1e-9)
    assert result["mcd_reduction"] == 0.4 and result["similarity_gain"] == pytest.approx(0.05)


def test_a_clone_can_pass_the_bar_against_tts_and_still_be_heard_worse_than_the_real_voice() -> None:
    worse = gaps(_summary(clone_wer=0.29, tts_wer=0.87, real_wer=0.06))
    assert worse["wer_gap"] < TARGETS["wer_gap_max"] < worse["wer_gap_vs_real"]
    garbled = gaps(_summary(clone_wer=0.9, tts_wer=0.5, real_wer=0.06))
    assert garbled["wer_gap"] > TARGETS["wer_gap_max"]


@pytest.fixture
def canned(monkeypatch: pytest.MonkeyPatch) -> None:
    import eval.bench_clone as bench

    def measured(name: str, **kwargs) -> dict:  # noqa: ANN003
        metrics = _summary(clone_wer=0.29, tts_wer=0.87, real_wer=0.06)
        return {"voice": name, "kind": "synthetic persona", "sample_rate": 16000, "speech_s": 180.0, "n_recordings": 40,
                "n_test": kwargs["n_test"], "steps": 10, "postfilter_steps": 0, "train_s": 12.0, "tts_settings": {},
                "metrics": metrics, **gaps(metrics), "synthesis_rtf": 0.1,
                "clone_call": {"audio_s": 9.0, "wall_s": 1.0, "rtf": 0.11, "watermark_detected": True,
                               "payload_matches": True}}

    monkeypatch.setattr(bench, "measure_voice", measured)


def test_the_printed_line_says_what_each_wer_gap_compares(canned, runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "clone", "--voice", "nova"])
    assert res.exit_code == 0, res.output
    assert "WER gap clone - TTS-only -58.0 points (clone - real +23.0)" in res.stderr


def test_the_json_defines_the_gaps(canned, runner) -> None:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "clone", "--voice", "nova", "--json", "-q"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    voice = report["voices"][0]
    assert voice["wer_gap"] == -0.58 and voice["wer_gap_vs_real"] == 0.23
    assert report["definitions"] == GAP_DEFINITIONS and "real recordings" in report["definitions"]["wer_gap_vs_real"]
    assert report["targets"]["wer_gap_max"] == 0.10
