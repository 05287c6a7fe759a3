"""The self-play corpus's neural-vocoder family: the generator, its training and the shipped weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from eval import neural_vocoder as nv
from guard.errors import DatasetError, ParameterError

SR = nv.RATE


def _voiced(seed: int, seconds: float = 1.0) -> np.ndarray:
    """A gliding harmonic tone with a little noise, at -20 dBFS or so."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 110 + 30 * np.sin(2 * np.pi * 0.9 * t) + rng.uniform(-10, 10)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(np.sin(k * phase) / k for k in range(1, 30)) + 0.01 * rng.standard_normal(t.size)
    return (0.05 * y).astype(np.float32)


def _mel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute log-mel difference of two equal-length clips."""
    with torch.no_grad():
        return float(torch.mean(torch.abs(nv.log_mel(torch.from_numpy(a)[None]) - nv.log_mel(torch.from_numpy(b)[None]))))


@pytest.mark.parametrize("variant", sorted(nv.VARIANTS))
def test_generator_upsamples_mel_frames_to_samples(variant: str) -> None:
    gen = nv.build_generator(16, variant)
    mel = nv.log_mel(torch.from_numpy(_voiced(0))[None])
    assert mel.shape == (1, nv.N_MELS, SR // nv.HOP) and torch.isfinite(mel).all()
    with torch.no_grad():
        out = gen(mel)
    assert out.shape == (1, 1, mel.shape[-1] * nv.HOP) and float(out.abs().max()) <= 1.0
    with pytest.raises(ParameterError, match="variant must be one of"):
        nv.build_generator(16, "wavenet")


def test_training_lowers_the_stft_loss() -> None:
    clips = [_voiced(s) for s in range(3)]
    short = nv.train(clips, steps=5, seed=0, channels=16, quiet=True)
    longer = nv.train(clips, steps=60, seed=0, channels=16, quiet=True)
    assert longer["final_loss"] < short["final_loss"] - 0.1
    assert set(longer) >= {"state", "channels", "steps", "seed", "final_loss", "train_s"}
    with pytest.raises(ParameterError, match="steps, batch and lr must be positive"):
        nv.train(clips, steps=0, seed=0)


@pytest.mark.skipif(not nv.WEIGHTS.is_file(), reason="the shipped neural-vocoder weights are missing")
def test_shipped_vocoder_rebuilds_the_spectrum_but_not_the_waveform() -> None:
    y = _voiced(7, seconds=1.3)
    out = nv.resynthesize(y)
    assert out.shape == y.shape and out.dtype == np.float32
    assert np.sqrt(np.mean(out**2)) == pytest.approx(np.sqrt(np.mean(y**2)), rel=1e-3)  # level kept
    assert abs(np.corrcoef(out, y)[0, 1]) < 0.9  # a new waveform...
    noise = (np.random.default_rng(1).standard_normal(y.size) * np.sqrt(np.mean(y**2))).astype(np.float32)
    assert _mel_distance(out, y) < 0.5 * _mel_distance(noise, y)  # ...with the input's spectrum
    assert nv.resynthesize(y[:100]).shape == (100,)  # shorter than one frame: still its own length
    from eval.selfplay_families import COPY_FAMILIES

    np.testing.assert_array_equal(COPY_FAMILIES["neuralvoc"](y, SR, np.random.default_rng(0)), out)


def test_bad_input_and_bad_weights_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="works at 16000 Hz"):
        nv.resynthesize(_voiced(0), sample_rate=22050)
    with pytest.raises(DatasetError, match="no neural-vocoder weights"):
        nv.resynthesize(_voiced(0), weights=tmp_path / "missing.pt")
    other = tmp_path / "other.pt"
    torch.save({"format": "something-else"}, other)
    with pytest.raises(DatasetError, match="not a voiceguard neural-vocoder file"):
        nv.resynthesize(_voiced(0), weights=other)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"these are not weights")
    with pytest.raises(DatasetError, match="not a readable neural-vocoder file"):
        nv.resynthesize(_voiced(0), weights=garbage)


def test_cli_trains_on_a_manifest_and_names_a_bad_one(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from guard.audio import save

    (tmp_path / "train" / "bonafide").mkdir(parents=True)
    rows = ["file,label,speaker,attack,split"]
    for i in range(2):
        save(tmp_path / "train" / "bonafide" / f"c{i}.wav", _voiced(i), sample_rate=SR)
        rows.append(f"train/bonafide/c{i}.wav,bonafide,ls-{i},-,train")
    rows.append("train/bonafide/gone.wav,bonafide,ls-9,-,train")  # unreadable: named and skipped
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "voc.pt"
    result = CliRunner().invoke(nv.command, ["--data", str(tmp_path / "manifest.csv"), "-o", str(out), "--steps", "2",
                                             "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "skipped unreadable train/bonafide/gone.wav" in result.output
    assert nv.load_generator(out) is not None
    nearest = tmp_path / "nearest.pt"
    result = CliRunner().invoke(nv.command, ["--data", str(tmp_path / "manifest.csv"), "-o", str(nearest), "--steps", "1",
                                             "--threads", "1", "--variant", "nearest", "-q"])
    assert result.exit_code == 0, result.output
    assert torch.load(nearest, weights_only=True)["variant"] == "nearest"
    assert nv.resynthesize(_voiced(3), weights=nearest).shape == (SR,)
    bad = CliRunner().invoke(nv.command, ["--data", str(tmp_path / "nothing.csv"), "-o", str(out)])
    assert bad.exit_code == 1 and "no such manifest" in bad.output and "Traceback" not in bad.output
