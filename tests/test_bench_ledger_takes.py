"""`voiceguard bench ledger --speaker-eer`: the per-recording check's rates on takes (eval/speaker_takes.py).

Tones stand in for speakers; the speaker embedding is replaced by a function that maps a
clip's pitch to a chosen vector, so every rate below is exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval import bench_ledger
from eval.speaker_takes import cut_takes, genuine_summary, impostor_summary, own_and_other_scores
from guard import speaker
from guard.audio import save
from guard.cli import cli
from guard.errors import AudioError

DIM = speaker.EMBED_DIM


def vec(**parts: float) -> np.ndarray:
    """A unit-length embedding with the given components (``d3=0.5`` puts 0.5 in dimension 3)."""
    v = np.zeros(DIM, np.float32)
    for name, value in parts.items():
        v[int(name[1:])] = value
    return v / np.linalg.norm(v)


REST = float(np.sqrt(1 - 2 * 0.65**2))
# tone frequency (Hz) -> embedding; None: "too little speech" (AudioError)
VOICES: dict[float, np.ndarray | None] = {
    200: vec(d0=1), 1200: vec(d0=1),                                  # librispeech 0: statement, take (cos 1)
    300: vec(d1=1), 1300: vec(d1=0.5, d6=float(np.sqrt(0.75))),       # librispeech 1: take at cos 0.5, close to Allison
    400: vec(d2=1), 1400: vec(d2=0.65, d0=0.65, d4=REST),             # librispeech 2: take at cos 0.65, and 0.65 to 0
    500: None,                                                        # librispeech 3: statement without speech
    600: vec(d5=1), 1600: None,                                       # librispeech 4: its take without speech
    700: vec(d6=1),                                                   # Allison's statements
    800: vec(d6=0.9, d7=float(np.sqrt(0.19))), 850: vec(d6=0.55, d8=float(np.sqrt(1 - 0.55**2))),  # her takes
}


def fake_embed(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """The chosen vector of the tone in ``y``."""
    freq = np.argmax(np.abs(np.fft.rfft(y))) * sample_rate / y.shape[0]
    known = min(VOICES, key=lambda f: abs(f - freq))
    assert abs(known - freq) < 20, f"no voice at {freq} Hz"
    if VOICES[known] is None:
        raise AudioError("too little speech to embed a speaker")
    return VOICES[known].copy()


def tone(freq_hz: float, seconds: float, sample_rate: int) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def write_librispeech(root: Path) -> Path:
    """Six utterances of 6 s statement + 3 s take (exactly one take each), one of 7 s (too short)."""
    root.mkdir()
    for k, (statement_hz, take_hz) in enumerate([(200, 1200), (300, 1300), (400, 1400), (500, 1500), (600, 1600)]):
        y = np.concatenate([tone(statement_hz, 6, 16000), tone(take_hz, 3, 16000)])
        save(root / f"{k}-1-0000.flac", y, sample_rate=16000)
    save(root / "9-1-0000.flac", tone(200, 7, 16000), sample_rate=16000)
    return root


def write_allison(root: Path) -> Path:
    """Ten 10.5 s prompts (two per 20 s statement), two 3 s takes, a 1 s prompt and a silence/ set."""
    (root / "silence").mkdir(parents=True)
    for k in range(10):
        save(root / f"long-{k}.wav", tone(700, 10.5, 8000), sample_rate=8000)
    save(root / "take-near.wav", tone(800, 3, 8000), sample_rate=8000)
    save(root / "take-far.wav", tone(850, 3, 8000), sample_rate=8000)
    save(root / "one.wav", tone(700, 1, 8000), sample_rate=8000)
    save(root / "silence" / "3.wav", tone(3000, 3, 8000), sample_rate=8000)  # no voice there: fails if read
    return root


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Fake embeddings, no EER part, both corpora pointed at (absent) folders under tmp_path."""
    monkeypatch.setattr(speaker, "embed_speaker", fake_embed)
    monkeypatch.setattr(bench_ledger, "measure_speaker_eer", lambda **_: {"rows": [], "pooled_real": None})
    monkeypatch.setattr(bench_ledger, "LIBRISPEECH", tmp_path / "librispeech")
    monkeypatch.setattr(bench_ledger, "ASTERISK", tmp_path / "allison")
    return tmp_path


def run_json(runner, *extra: str) -> dict:  # noqa: ANN001
    res = runner.invoke(cli, ["bench", "ledger", "--events", "10", "--speaker-eer", "--json", *extra])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["speaker_eer"]["per_recording"]


def test_per_recording_rates_on_librispeech_and_allison(runner, bench: Path) -> None:  # noqa: ANN001
    write_librispeech(bench / "librispeech")
    write_allison(bench / "allison")
    out = run_json(runner, "--seed", "3")
    assert out["threshold"] == 0.6 and out["seed"] == 3 and out["skipped"] == []
    assert out["statement_s"] == 6.0 and out["take_s"] == [2.0, 5.0]
    ls = out["librispeech"]
    assert (ls["speakers"], ls["takes"]) == (4, 3)  # 7 s utterance and silent statement left out; silent take dropped
    assert ls["genuine"] == {"trials": 3, "refused": 1, "frr": 0.3333, "lowest": 0.5, "median": 0.65}
    assert ls["impostor"] == {"trials": 9, "accepted": 1, "far": 0.1111, "highest": 0.65, "median": 0.0}
    al = out["asterisk_allison"]
    assert (al["prompts"], al["statements"], al["takes"]) == (13, 5, 2)
    assert al["genuine"] == {"trials": 10, "refused": 5, "frr": 0.5, "lowest": 0.55, "median": 0.725}
    assert al["impostor"] == {"trials": 15, "accepted": 5, "far": 0.3333, "highest": 0.866, "median": 0.0}


def test_per_recording_table_goes_to_stderr(runner, bench: Path) -> None:  # noqa: ANN001
    write_librispeech(bench / "librispeech")
    res = runner.invoke(cli, ["bench", "ledger", "--events", "10", "--speaker-eer"])
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    assert "per-recording speaker check (each take cos >= 0.60 with the statement; seed 0)" in res.stderr
    assert ("librispeech-sample   4 speakers, 3 takes: genuine refused 1/3 (33.33%), lowest 0.500; "
            "another speaker's accepted 1/9 (11.11%), highest 0.650") in res.stderr
    assert f"skipped asterisk Allison: no folder {bench / 'allison'}" in res.stderr


def test_per_recording_skips_absent_corpora(runner, bench: Path) -> None:  # noqa: ANN001
    out = run_json(runner)
    assert out["librispeech"] is None and out["asterisk_allison"] is None
    assert out["skipped"] == [f"librispeech-sample: no folder {bench / 'librispeech'}",
                              f"asterisk Allison: no folder {bench / 'allison'}"]


def test_per_recording_skips_corpora_too_short_to_use(runner, bench: Path) -> None:  # noqa: ANN001
    (bench / "librispeech").mkdir()
    save(bench / "librispeech" / "1-1-0000.flac", tone(200, 7, 16000), sample_rate=16000)
    (bench / "allison").mkdir()
    save(bench / "allison" / "long.wav", tone(700, 10.5, 8000), sample_rate=8000)
    out = run_json(runner)
    assert out["librispeech"] is None and out["asterisk_allison"] is None
    assert out["skipped"] == [f"librispeech-sample: no utterance of 8 s or more in {bench / 'librispeech'}",
                              f"asterisk Allison: too few prompts for a statement in {bench / 'allison'}"]


def test_allison_without_librispeech_has_no_impostor_trials(runner, bench: Path) -> None:  # noqa: ANN001
    write_allison(bench / "allison")
    out = run_json(runner)
    assert out["librispeech"] is None and out["asterisk_allison"]["impostor"] is None
    assert out["asterisk_allison"]["genuine"]["refused"] == 5


def test_max_speakers_is_a_seeded_choice(runner, bench: Path) -> None:  # noqa: ANN001
    write_librispeech(bench / "librispeech")  # 5 utterances long enough: 3 whole, 3 without a statement, 4 without a take
    for seed in (0, 1, 2, 3):
        chosen = set(np.random.default_rng(seed).choice(5, size=2, replace=False).tolist())
        row = run_json(runner, "--max-speakers", "2", "--seed", str(seed))["librispeech"]
        assert (row["speakers"], row["takes"]) == (len(chosen - {3}), len(chosen - {3, 4})), (seed, chosen)


@pytest.mark.parametrize("seconds", [0.0, 1.9, 2.0, 3.0, 7.3, 30.0])
def test_cut_takes_are_consecutive_2_to_5_s_and_drop_a_short_tail(seconds: float) -> None:
    sr = 100
    y = np.arange(int(seconds * sr), dtype=np.float32)
    takes = cut_takes(y, sample_rate=sr, rng=np.random.default_rng(0))
    joined = np.concatenate(takes) if takes else y[:0]
    assert np.array_equal(joined, y[: joined.size])  # in order, no gap, no overlap
    assert all(2 * sr <= t.size <= 5 * sr for t in takes)
    assert y.size - joined.size < 2 * sr


def test_own_and_other_scores_split_by_speaker() -> None:
    statements = np.stack([vec(d0=1), vec(d1=1), vec(d2=1)])
    takes = np.stack([vec(d0=1), vec(d1=0.6, d0=0.8), vec(d2=1), vec(d2=1)])
    genuine, impostor = own_and_other_scores(statements, takes, np.array([0, 1, 2, 2]))
    assert genuine == pytest.approx([1.0, 0.6, 1.0, 1.0])
    assert sorted(impostor) == pytest.approx([0.0] * 7 + [0.8])


def test_summaries_count_at_the_threshold_as_accepted() -> None:
    scores = np.array([0.59, 0.6, 0.61, 0.9])
    assert genuine_summary(scores, threshold=0.6) == {"trials": 4, "refused": 1, "frr": 0.25, "lowest": 0.59,
                                                      "median": 0.605}
    assert impostor_summary(scores, threshold=0.6) == {"trials": 4, "accepted": 3, "far": 0.75, "highest": 0.9,
                                                       "median": 0.605}
    assert genuine_summary(np.array([]), threshold=0.6) is None and impostor_summary(np.array([]), threshold=0.6) is None
