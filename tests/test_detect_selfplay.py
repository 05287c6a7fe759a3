"""Self-play generator families, dev-only families, the cloner family's consent gate, and the phase-aware front-end."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import torch

from guard.audio import load, save
from guard.detect.features import FeatureConfig, features
from guard.detect.model import DetectorNet, ModelConfig
from guard.errors import ConsentError, DatasetError

SR = 16000


def _voiced(rng: np.random.Generator, *, seconds: float = 1.5) -> np.ndarray:
    """A gliding harmonic tone with a little noise: voiced-speech-like enough for F0 tracking."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t) + rng.uniform(-5, 5)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(np.sin(k * phase) / k for k in range(1, 25)) + 0.01 * rng.standard_normal(t.size)
    return (0.1 * y).astype(np.float32)


def _log_spectrum(y: np.ndarray) -> np.ndarray:
    import librosa

    return np.log(np.mean(np.abs(librosa.stft(y, n_fft=512, hop_length=128)) ** 2, axis=1) + 1e-8)


@pytest.mark.parametrize("family", ["phaserebuild", "cepvoc", "harmonic"])
def test_new_families_keep_the_spectrum_but_change_the_signal(family: str) -> None:
    from eval.selfplay_families import COPY_FAMILIES

    rng = np.random.default_rng(0)
    y = _voiced(rng)
    out = COPY_FAMILIES[family](y, SR, np.random.default_rng(1))
    assert out.shape == y.shape and out.dtype == np.float32 and np.all(np.isfinite(out))
    # A copy, not the input: the waveforms differ ...
    assert np.corrcoef(out, y)[0, 1] < 0.9
    # ... while the long-term spectral shape is kept (log-spectrum correlation over 0-8 kHz).
    assert np.corrcoef(_log_spectrum(out), _log_spectrum(y))[0, 1] > 0.8


def _sources(root: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir()
    for spk in range(n):  # stand-in recordings made here: the builder's mechanics only
        save(root / f"{100 + spk}-1-0000.flac", _voiced(rng), sample_rate=SR)
    return root


class _NamedVoice:
    """A stand-in family that speaks in its own voice (as the cloner does)."""

    speaker = "cloner-test"

    def __call__(self, y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        return (0.5 * y[::-1]).copy()


def test_dev_only_and_named_voice_families(tmp_path: Path) -> None:
    from eval.datasets import load_dataset
    from eval.selfplay_build import build
    from eval.selfplay_config import SelfplayConfig

    src = _sources(tmp_path / "real", 8)
    config = SelfplayConfig(librispeech=src, asterisk=None, espeak_clips={}, speaker_fractions=(0.5, 0.25, 0.25),
                            train_families=("world", "pvshift"), dev_only_families=("cepvoc",), test_families=("lpc",))
    manifest = build(tmp_path / "corpus", seed=0, config=config, extra_families={"cloner": (_NamedVoice(), "test")}, quiet=True)
    rows = load_dataset("csv", manifest)
    attacks = {split: {it.attack for it in rows if it.split == split and it.label == "spoof"} for split in ("train", "dev", "test")}
    assert attacks["train"] <= {"world", "pvshift"} and "cepvoc" not in attacks["train"]
    assert "cepvoc" in attacks["dev"] and attacks["test"] == {"lpc", "cloner"}
    n_dev_bona = sum(1 for it in rows if it.split == "dev" and it.label == "bonafide")
    assert sum(1 for it in rows if it.attack == "cepvoc") == n_dev_bona  # every dev clip gets the dev-only family
    assert {it.speaker for it in rows if it.attack == "cloner"} == {"cloner-test"}
    assert all(it.speaker.startswith("ls-") for it in rows if it.attack == "lpc")


def test_harmonic_family_rebuilds_voiced_parts_from_harmonics_of_the_f0() -> None:
    from eval.selfplay_families import harmonic_noise

    y = _voiced(np.random.default_rng(2))
    out = harmonic_noise(y, SR, np.random.default_rng(3))
    assert np.sqrt(np.mean(out**2)) == pytest.approx(np.sqrt(np.mean(y**2)), rel=1e-4)  # loudness kept
    # the F0 glides around 120 Hz: the output's long-term spectrum peaks near harmonics of it
    spec = np.abs(np.fft.rfft(out * np.hanning(out.size)))
    freqs = np.fft.rfftfreq(out.size, 1 / SR)
    low = (freqs > 60) & (freqs < 200)
    assert 95 < freqs[low][np.argmax(spec[low])] < 145
    # silence in, silence out (no division by zero)
    assert not np.any(harmonic_noise(np.zeros(SR, np.float32), SR, np.random.default_rng(0)))


def _librispeech_bona_fide(items: list) -> dict:
    """File name -> (split, samples) of the bona fide clips of the multi-speaker source."""
    return {Path(it.path).name: (it.split, load(it.path, sample_rate=SR).tobytes())
            for it in items if it.label == "bonafide" and it.speaker.startswith("ls-")}


def test_extra_single_speaker_folders_go_to_train_under_their_folder_name(tmp_path: Path) -> None:
    from eval.datasets import load_dataset
    from eval.selfplay_build import build
    from eval.selfplay_config import SelfplayConfig

    src = _sources(tmp_path / "real", 4)
    rng = np.random.default_rng(5)
    june, carlo = tmp_path / "fr_CA_f_June", tmp_path / "it_IT_m_Carlo"
    for folder in (june, carlo):  # prompt sets share file names across voices
        folder.mkdir()
        for i in range(5):
            save(folder / f"prompt-{i}.wav", _voiced(rng), sample_rate=SR)
    config = SelfplayConfig(librispeech=src, asterisk=None, espeak_clips={}, speaker_fractions=(0.5, 0.25, 0.25),
                            extra_single=(june, carlo), max_extra_single=3, crops_per_file=1,
                            train_families=("pvshift",), dev_only_families=("harmonic",), test_families=("lpc",))
    rows = load_dataset("csv", build(tmp_path / "corpus", seed=0, config=config, quiet=True))
    june_rows = [it for it in rows if it.speaker == "fr_ca_f_june" and it.label == "bonafide"]
    assert len(june_rows) == 3 and {it.split for it in june_rows} == {"train"}
    extra = [it for it in rows if it.speaker in ("fr_ca_f_june", "it_it_m_carlo")]
    assert len({it.path for it in extra}) == len(extra) == 6 * 2  # 6 clips and a pvshift copy of each, none overwritten
    assert {it.attack for it in rows if it.split == "dev" and it.label == "spoof"} >= {"harmonic"}
    # the extra folder changes neither the speaker split nor the other sources' crops
    from dataclasses import replace

    without = load_dataset("csv", build(tmp_path / "plain", seed=0, config=replace(config, extra_single=()), quiet=True))
    assert _librispeech_bona_fide(rows) == _librispeech_bona_fide(without)


@pytest.mark.parametrize("make, match", [
    (lambda root: root / "missing", "does not exist"),
    (lambda root: root, "holds no audio files"),
])
def test_extra_single_speaker_folder_must_hold_audio(tmp_path: Path, make, match: str) -> None:  # noqa: ANN001
    from eval.selfplay_build import build
    from eval.selfplay_config import SelfplayConfig

    empty = tmp_path / "empty"
    empty.mkdir()
    config = SelfplayConfig(librispeech=_sources(tmp_path / "real", 2), asterisk=None, extra_single=(make(empty),))
    with pytest.raises(DatasetError, match=match):
        build(tmp_path / "corpus", seed=0, config=config, quiet=True)


def test_joined_voice_folders_become_training_clips_of_their_own_speaker(tmp_path: Path) -> None:
    from dataclasses import replace

    from eval.datasets import load_dataset
    from eval.selfplay_build import build
    from eval.selfplay_config import SelfplayConfig

    src = _sources(tmp_path / "real", 4)
    rng = np.random.default_rng(6)
    words = tmp_path / "sounds" / "en"
    words.mkdir(parents=True)
    for i in range(12):  # 0.5 s words: too short to be clips on their own
        save(words / f"word-{i}.ogg", _voiced(rng, seconds=0.5), sample_rate=SR)
    config = SelfplayConfig(librispeech=src, asterisk=None, espeak_clips={}, speaker_fractions=(0.5, 0.25, 0.25),
                            joined_voices=(words,), joined_clip_s=2.0, max_joined_clips=2, crops_per_file=1,
                            train_families=("pvshift",), dev_only_families=("harmonic",), test_families=("lpc",))
    rows = load_dataset("csv", build(tmp_path / "corpus", seed=0, config=config, quiet=True))
    joined = [it for it in rows if it.speaker == "joined-sounds-en"]
    bona = [it for it in joined if it.label == "bonafide"]
    assert len(bona) == 2 and {it.split for it in joined} == {"train"}
    assert {it.attack for it in joined if it.label == "spoof"} == {"pvshift"} and len(joined) == 4
    for it in bona:  # three 0.5 s words, each with its 0.2 s pause, make a clip of 2 s or more
        y = load(it.path, sample_rate=SR)
        assert 2.0 * SR <= y.shape[0] <= 2.8 * SR
        assert np.max(np.abs(y[-int(0.2 * SR):])) == 0.0  # the clip ends on its pause
    # the joined folder changes neither the speaker split nor the other sources' crops
    without = load_dataset("csv", build(tmp_path / "plain", seed=0, config=replace(config, joined_voices=()), quiet=True))
    assert _librispeech_bona_fide(rows) == _librispeech_bona_fide(without)


@pytest.mark.parametrize("make, match", [
    (lambda root: root / "missing", "does not exist"),
    (lambda root: root, "holds no audio files"),
    (lambda root: root.parent / "one_word", "under 3 s of readable audio"),
    (lambda root: (root.parent / "a" / "sounds" / "en", root.parent / "b" / "sounds" / "en"), "both be speaker joined-sounds-en"),
])
def test_joined_voice_folder_must_hold_enough_audio(tmp_path: Path, make, match: str) -> None:  # noqa: ANN001
    from eval.selfplay_build import build
    from eval.selfplay_config import SelfplayConfig

    empty, one_word = tmp_path / "empty", tmp_path / "one_word"
    empty.mkdir()
    one_word.mkdir()
    save(one_word / "word.wav", _voiced(np.random.default_rng(7), seconds=0.5), sample_rate=SR)
    (one_word / "broken.wav").write_bytes(b"not audio")
    for twin in ("a", "b"):  # two folders of one name under two roots
        words = tmp_path / twin / "sounds" / "en"
        words.mkdir(parents=True)
        for i in range(8):
            save(words / f"w{i}.wav", _voiced(np.random.default_rng(i), seconds=0.5), sample_rate=SR)
    folders = make(empty)
    config = SelfplayConfig(librispeech=_sources(tmp_path / "real", 2), asterisk=None,
                            joined_voices=folders if isinstance(folders, tuple) else (folders,))
    with pytest.raises(DatasetError, match=match):
        build(tmp_path / "corpus", seed=0, config=config, quiet=True)


def test_cli_rejects_an_unknown_dev_only_family(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from eval.selfplay import command

    src = _sources(tmp_path / "real", 2)
    res = CliRunner().invoke(command, ["-o", str(tmp_path / "c"), "--librispeech", str(src), "--asterisk", str(tmp_path / "none"),
                                       "--no-cloner", "--dev-only-families", "cepvoc,nosuch", "-q"])
    assert res.exit_code == 1 and "unknown generator families ['nosuch']" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("train, dev_only, test, match", [
    (("world",), ("world",), ("lpc",), "also training families"),
    (("world",), ("lpc",), ("lpc",), "in both training and test"),
])
def test_dev_only_families_must_be_unseen(tmp_path: Path, train: tuple, dev_only: tuple, test: tuple, match: str) -> None:
    from eval.selfplay_build import build
    from eval.selfplay_config import SelfplayConfig

    src = _sources(tmp_path / "real", 2)
    config = SelfplayConfig(librispeech=src, asterisk=None, train_families=train, dev_only_families=dev_only, test_families=test)
    with pytest.raises(DatasetError, match=match):
        build(tmp_path / "corpus", seed=0, config=config, quiet=True)


def test_cloner_family_speaks_only_under_a_valid_consent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cloner.pipeline
    from eval.selfplay_cloner import LICENSE_TEXT, PURPOSE, ClonerFamily
    from guard import consent
    from guard.home import init_home

    home, _ = init_home(tmp_path / "home")
    record = consent.grant(home, voice_id="v1", subject="a speaker", operator="tests", purposes=(PURPOSE,),
                           expires=(date.today() + timedelta(days=2)).isoformat(), license_text=LICENSE_TEXT)
    spoken: list[str] = []

    def fake_speak(model: object, text: str) -> np.ndarray:
        spoken.append(text)
        return np.full(8000 * 7, 0.1, dtype=np.float32)  # 7 s at the model's 8 kHz

    class Model:
        voice_id, sample_rate, consent_id = "v1", 8000, record.consent_id

    monkeypatch.setattr(cloner.pipeline, "speak", fake_speak)
    family = ClonerFamily(model=Model(), texts=["one held out prompt here"], speaker="cloner-v1", home=home)
    out = family(np.zeros(SR, np.float32), SR, np.random.default_rng(0))
    assert out.shape == (5 * SR,) and spoken == ["one held out prompt here"]  # resampled to 16 kHz, cut at 5 s
    consent.revoke(home, record.consent_id, reason="withdrawn")
    with pytest.raises(ConsentError, match="revoked"):
        family(np.zeros(SR, np.float32), SR, np.random.default_rng(0))
    assert len(spoken) == 1


def test_cloner_family_needs_the_cloners_minimum_and_is_skipped_without_asterisk(tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import eval.selfplay_cloner
    from eval.selfplay import cloner_families
    from eval.selfplay_cloner import asterisk_cloner

    with pytest.raises(DatasetError, match="speech_s must be >= 60"):
        asterisk_cloner(tmp_path, seed=0, speech_s=30.0)

    def absent(*args: object, **kwargs: object) -> None:
        raise DatasetError("asterisk English sounds not found")

    monkeypatch.setattr(eval.selfplay_cloner, "asterisk_cloner", absent)
    assert cloner_families(tmp_path, seed=0, quiet=True) == {}


def test_linphase_channels_separate_a_steady_tone_from_noise() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    tone = (0.3 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    noise = (0.05 * rng.standard_normal(SR)).astype(np.float32)
    config = FeatureConfig(kind="linphase", n_filters=64)
    ft, fn = features(tone, config=config), features(noise, config=config)
    assert ft.shape == (3, 64, SR // 160 + 1) and config.n_channels == 3
    band = 8  # the 64 linear bands are 125 Hz apart: band 8 is centred on 1 kHz
    inner = slice(5, -5)
    # A steady sinusoid's phase advances linearly: curvature along time ~ 0 rad; noise's
    # phase is random from frame to frame (uniform curvature: median pi/2).
    assert np.median(ft[1, band, inner]) < 0.05 and 1.2 < np.median(fn[1, :, inner]) < 1.9
    # Along frequency the window couples neighbouring bins, so noise sits lower, but still
    # well above the tone's main lobe (whose bins alternate by exactly pi).
    assert np.median(fn[2, :, inner]) > 3 * np.median(ft[2, band, inner])
    assert np.all((ft[1:] >= 0) & (ft[1:] <= np.pi + 1e-5))


def test_linphase_model_takes_three_channels_and_keeps_phase_levels() -> None:
    torch.manual_seed(0)
    net = DetectorNet(FeatureConfig(kind="linphase", n_filters=32), ModelConfig(channels=(4, 8))).eval()
    y = torch.from_numpy(_voiced(np.random.default_rng(0)))[None].repeat(2, 1)
    assert net.forward_audio(y).shape == (2,)
    feats = net.front(y)
    shifted = feats.clone()
    shifted[:, 0] += 3.0  # a gain change moves only the energy channel, by a constant
    with torch.no_grad():
        assert torch.allclose(net(feats), net(shifted), atol=1e-4)
        moved = feats.clone()
        moved[:, 1] += 0.5  # a phase-level change is information, not a nuisance
        assert not torch.allclose(net(feats), net(moved), atol=1e-4)


def test_asv_trials_pair_crops_of_the_same_speaker(monkeypatch: pytest.MonkeyPatch) -> None:
    import guard.speaker
    from eval.asv_trials import selfplay_asv_scores
    from guard.detect.data import LabeledFile
    from guard.errors import AudioError

    def fake_embed(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
        if y[0] < 0:
            raise AudioError("too little speech to embed a speaker")
        e = np.zeros(8, np.float32)
        e[int(y[0])] = 1.0  # the clip's first sample names its voice
        e[7] = float(y[1])  # a little per-clip variation
        return e / np.linalg.norm(e)

    monkeypatch.setattr(guard.speaker, "embed_speaker", fake_embed)

    def clip(name: str, label: str, speaker: str, attack: str, voice: float, wiggle: float = 0.1) -> tuple:
        item = LabeledFile(Path(f"test/{label}/{name}.wav"), label, split="test", speaker=speaker, attack=attack)
        return item, np.asarray([voice, wiggle, 0.0], np.float32)

    clips = [clip("a-0", "bonafide", "ls-a", "-", 0), clip("a-1", "bonafide", "ls-a", "-", 0, 0.2),
             clip("b-0", "bonafide", "ls-b", "-", 1), clip("b-1", "bonafide", "ls-b", "-", 1, 0.3),
             clip("c-0", "bonafide", "ls-c", "-", 2),  # one crop only: no target trial, not enrolled
             clip("d-0", "bonafide", "ls-d", "-", 3), clip("d-1", "bonafide", "ls-d", "-", -1),  # d-1 cannot be embedded
             clip("a-1-lpc", "spoof", "ls-a", "lpc", 0, 0.15), clip("a-0-lpc", "spoof", "ls-a", "lpc", 0),
             clip("b-1-griffinlim", "spoof", "ls-b", "griffinlim", 4),
             clip("a-1-cloner", "spoof", "cloner-allison", "cloner", 5)]
    asv = selfplay_asv_scores(clips, sample_rate=SR)
    assert asv is not None and asv.n_speakers == 2
    assert asv.target.size == 2 and asv.nontarget.size == 2 and asv.target.min() > asv.nontarget.max()
    # Only copies of non-enrollment crops of enrolled speakers are spoof trials (not a-0-lpc, not the cloner).
    assert asv.spoof.size == 2 and asv.spoof.max() > 0.8 and asv.spoof.min() < 0.2
    assert asv.summary()["eer"] == 0.0
    assert selfplay_asv_scores(clips[:2], sample_rate=SR) is None
    from eval.detect_rows import condition_row

    labels = np.asarray([it.label == "spoof" for it, _ in clips])
    perfect = condition_row(clips, labels.astype(float), asv)
    useless = condition_row(clips, np.zeros(len(clips)), asv)
    assert perfect["min_tdcf"] == 0.0 and useless["min_tdcf"] == pytest.approx(1.0)
    assert "min_tdcf" not in condition_row(clips, labels.astype(float))


def test_two_recordings_with_one_clip_name_are_refused(tmp_path: Path) -> None:
    from eval.selfplay_build import build
    from eval.selfplay_config import SelfplayConfig

    src = _sources(tmp_path / "real", 2)
    (src / "copy").mkdir()
    save(src / "copy" / "100-1-0000.flac", _voiced(np.random.default_rng(9)), sample_rate=SR)  # same name, other folder
    config = SelfplayConfig(librispeech=src, asterisk=None, espeak_clips={}, crops_per_file=1)
    with pytest.raises(DatasetError, match=r"would both be written as \w+/bonafide/100-1-0000-0.wav"):
        build(tmp_path / "corpus", seed=0, config=config, quiet=True)
