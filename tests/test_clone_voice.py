"""The saved voice format: round trip, versions, hashes, ids, listing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cloner import voice
from cloner.convert import ConversionNet, ConvertConfig, F0Map, Normaliser
from cloner.postfilter import PostFilter, PostFilterNet
from guard.errors import CloneError, ParameterError


def _model(voice_id: str = "v1", *, with_postfilter: bool = False) -> voice.VoiceModel:
    torch.manual_seed(0)
    config = ConvertConfig(hidden=8, kernel=3, steps=1)
    return voice.VoiceModel(
        voice_id=voice_id, consent_id="c-1", sample_rate=16000,
        tts=voice.TTSSettings("en-us", 160, 40, 50), config=config,
        in_norm=Normaliser(np.zeros(4), np.ones(4)), out_norm=Normaliser(np.ones(3), np.full(3, 2.0)),
        f0_map=F0Map(4.8, 0.2, 5.2, 0.25), target_gv=np.full(3, 0.1), pause_s=0.4,
        net=ConversionNet(4, 3, hidden=8, kernel=3).eval(),
        postfilter=PostFilter(PostFilterNet(5).eval(), Normaliser(np.zeros(5), np.ones(5)), 16000)
        if with_postfilter else None,
        created_at="2026-01-01T00:00:00+00:00",
        training={"speech_s": 65.0},
    )


def test_round_trip(home) -> None:  # noqa: ANN001
    model = _model()
    digest = voice.save_voice(model, voice.voice_folder(home, "v1"))
    loaded = voice.load_voice(home, "v1")
    assert len(digest) == 64
    assert loaded.tts == model.tts and loaded.f0_map == model.f0_map and loaded.config == model.config
    x = torch.randn(1, 20, 4)
    with torch.inference_mode():
        assert torch.allclose(loaded.net(x), model.net(x))
    assert voice.list_voices(home) == [{
        "voice_id": "v1", "consent_id": "c-1", "language": "en-us", "sample_rate": 16000,
        "created_at": "2026-01-01T00:00:00+00:00", "speech_s": 65.0, "format_version": voice.FORMAT_VERSION}]


def test_round_trip_with_postfilter(home, rng) -> None:  # noqa: ANN001
    model = _model(with_postfilter=True)
    voice.save_voice(model, voice.voice_folder(home, "v1"))
    loaded = voice.load_voice(home, "v1")
    assert loaded.postfilter is not None and loaded.postfilter.sample_rate == 16000
    x = torch.from_numpy(rng.standard_normal((1, 5, 30)).astype(np.float32))
    with torch.inference_mode():
        assert torch.allclose(loaded.postfilter.net(x), model.postfilter.net(x))


def test_other_format_version_is_refused(home) -> None:  # noqa: ANN001
    folder = voice.voice_folder(home, "v1")
    voice.save_voice(_model(), folder)
    meta = json.loads((folder / voice.META_FILE).read_text())
    meta["format_version"] = voice.FORMAT_VERSION + 1
    (folder / voice.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(CloneError, match="format version 2.*re-enroll"):
        voice.load_voice(home, "v1")


def test_tampered_weights_are_refused(home) -> None:  # noqa: ANN001
    folder = voice.voice_folder(home, "v1")
    voice.save_voice(_model(), folder)
    with open(folder / voice.WEIGHTS_FILE, "ab") as fh:
        fh.write(b"x")
    with pytest.raises(CloneError, match="do not match the hash"):
        voice.load_voice(home, "v1")


def test_corrupt_meta(home) -> None:  # noqa: ANN001
    folder = voice.voice_folder(home, "v1")
    voice.save_voice(_model(), folder)
    (folder / voice.META_FILE).write_text("{not json")
    with pytest.raises(CloneError, match="corrupt voice file"):
        voice.load_voice(home, "v1")
    assert "error" in voice.list_voices(home)[0]


def test_unknown_voice_names_the_enrolled_ones(home) -> None:  # noqa: ANN001
    voice.save_voice(_model("alice"), voice.voice_folder(home, "alice"))
    (home.voices_dir / ".bob.1234.tmp").mkdir()  # an enrollment in progress is not a voice
    with pytest.raises(CloneError, match="unknown voice 'bob' \\(enrolled: alice\\)"):
        voice.load_voice(home, "bob")
    assert [v["voice_id"] for v in voice.list_voices(home)] == ["alice"]


@pytest.mark.parametrize("bad", ["", "../x", ".hidden", "a b", "Alice", "v1.0", "x" * 65, None, 3])
def test_bad_voice_ids(bad: object) -> None:
    with pytest.raises(ParameterError, match="voice id"):
        voice.check_voice_id(bad)


@pytest.mark.parametrize("good", ["a", "alice_2", "v1-final", "x" * 64])
def test_good_voice_ids(good: str) -> None:
    assert voice.check_voice_id(good) == good
