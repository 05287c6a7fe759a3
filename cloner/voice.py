"""The saved voice model: a versioned folder ``voices/<voice_id>/`` under the home.

``voice.json`` holds everything but the weights (format version, consent, TTS settings,
normalisers, F0 map, global variance, training summary, the SHA-256 of the weights);
``model.pt`` holds the state dicts of the conversion network and of the spectral
post-filter, loaded with ``weights_only=True`` and checked against that hash; ``recordings/``
keeps the enrollment audio and transcripts. :func:`missing_parts` says what of a folder is gone.
A folder of another format version is refused, not guessed at. :func:`cloner.erase.delete_voice`
erases a voice's folder and logs that as ``voice.deleted``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from cloner.convert import ConversionNet, ConvertConfig, F0Map, Normaliser
from cloner.postfilter import PostFilter, PostFilterNet
from guard.consent.record import VOICE_ID
from guard.digest import sha256_file
from guard.errors import CloneError, ParameterError
from guard.home import Home
from guard.ledger.files import first_few, missing_recordings

FORMAT_VERSION = 1
META_FILE = "voice.json"
WEIGHTS_FILE = "model.pt"
# The same rule as guard.consent's voice ids, so every enrolled voice can hold a consent.


def check_voice_id(voice_id: object) -> str:
    """Return ``voice_id`` if it is 1-64 lowercase letters, digits, ``_`` or ``-``, starting with a letter or digit."""
    if not isinstance(voice_id, str) or not VOICE_ID.fullmatch(voice_id):  # the rule consents use
        raise ParameterError(f"voice id must be 1-64 lowercase letters, digits, '_' or '-', starting with a letter or digit; given {voice_id!r}")
    return voice_id


@dataclass(frozen=True)
class TTSSettings:
    """How the TTS front end speaks for this voice: language and the speaker's rate and pitch."""

    language: str
    rate_wpm: int
    pitch: int
    pitch_range: int


@dataclass
class VoiceModel:
    """An enrolled voice, ready to convert TTS features."""

    voice_id: str
    consent_id: str
    sample_rate: int
    tts: TTSSettings
    config: ConvertConfig
    in_norm: Normaliser
    out_norm: Normaliser
    f0_map: F0Map
    target_gv: np.ndarray
    pause_s: float
    net: ConversionNet
    postfilter: PostFilter | None
    created_at: str
    training: dict
    format_version: int = FORMAT_VERSION

    @property
    def n_in(self) -> int:
        return int(self.in_norm.mean.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.out_norm.mean.shape[0])

    def meta(self, weights_sha256: str) -> dict:
        return {
            "format_version": self.format_version,
            "voice_id": self.voice_id,
            "consent_id": self.consent_id,
            "sample_rate": self.sample_rate,
            "tts": asdict(self.tts),
            "config": self.config.to_dict(),
            "in_norm": self.in_norm.to_dict(),
            "out_norm": self.out_norm.to_dict(),
            "f0_map": self.f0_map.to_dict(),
            "target_gv": self.target_gv.tolist(),
            "pause_s": self.pause_s,
            "postfilter_norm": None if self.postfilter is None else self.postfilter.norm.to_dict(),
            "created_at": self.created_at,
            "training": self.training,
            "weights_sha256": weights_sha256,
        }


def save_voice(model: VoiceModel, folder: Path) -> str:
    """Write ``model`` into ``folder`` (created); return the weights' SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    state = {"convert": model.net.state_dict()}
    if model.postfilter is not None:
        state["postfilter"] = model.postfilter.net.state_dict()
    torch.save(state, weights)
    digest = sha256_file(weights)
    (folder / META_FILE).write_text(json.dumps(model.meta(digest), indent=2))
    return digest


def voice_folder(home: Home, voice_id: str) -> Path:
    return home.voices_dir / check_voice_id(voice_id)


def read_meta(folder: Path) -> dict:
    """The parsed ``voice.json`` of a voice folder, version-checked."""
    path = folder / META_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise CloneError(f"{folder}: not an enrolled voice ({META_FILE} missing)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CloneError(f"{path}: corrupt voice file ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        found = meta.get("format_version") if isinstance(meta, dict) else None
        raise CloneError(f"{path}: voice format version {found!r}, this voiceguard reads version {FORMAT_VERSION}; re-enroll the voice")
    return meta


def load_voice(home: Home, voice_id: str) -> VoiceModel:
    """Load an enrolled voice.

    Raises
    ------
    CloneError
        Unknown voice (listing the enrolled ones), another format version, weights that do
        not match their recorded hash, or a corrupt file.
    """
    folder = voice_folder(home, voice_id)
    if not folder.is_dir():
        known = ", ".join(v["voice_id"] for v in list_voices(home)) or "none"
        raise CloneError(f"unknown voice {voice_id!r} (enrolled: {known}); enroll it with `voiceguard enroll`")
    meta = read_meta(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file() or sha256_file(weights) != meta.get("weights_sha256"):
        raise CloneError(f"{weights}: weights missing or do not match the hash in {META_FILE}; re-enroll the voice")
    try:
        config = ConvertConfig(**meta["config"]).validate()
        in_norm, out_norm = Normaliser.from_dict(meta["in_norm"]), Normaliser.from_dict(meta["out_norm"])
        net = ConversionNet(in_norm.mean.shape[0], out_norm.mean.shape[0], hidden=config.hidden, kernel=config.kernel)
        state = torch.load(weights, weights_only=True, map_location="cpu")
        net.load_state_dict(state["convert"])
        net.eval()
        postfilter = None
        if meta.get("postfilter_norm") is not None:
            pf_norm = Normaliser.from_dict(meta["postfilter_norm"])
            pf_net = PostFilterNet(pf_norm.mean.shape[0])
            pf_net.load_state_dict(state["postfilter"])
            postfilter = PostFilter(pf_net.eval(), pf_norm, int(meta["sample_rate"]))
        return VoiceModel(
            voice_id=meta["voice_id"], consent_id=meta["consent_id"], sample_rate=int(meta["sample_rate"]),
            tts=TTSSettings(**meta["tts"]), config=config, in_norm=in_norm, out_norm=out_norm,
            f0_map=F0Map(**meta["f0_map"]), target_gv=np.asarray(meta["target_gv"], dtype=np.float64),
            pause_s=float(meta["pause_s"]), net=net, postfilter=postfilter, created_at=meta["created_at"], training=meta["training"],
        )
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CloneError(f"{folder}: corrupt voice model ({type(exc).__name__}: {exc}); re-enroll the voice") from None


def list_voices(home: Home) -> list[dict]:
    """A summary of every enrolled voice, sorted by id (folders being written are skipped)."""
    out = []
    if not home.voices_dir.is_dir():
        return out
    for folder in sorted(home.voices_dir.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            meta = read_meta(folder)
        except CloneError as exc:
            out.append({"voice_id": folder.name, "error": str(exc)})
            continue
        out.append({
            "voice_id": meta["voice_id"], "consent_id": meta["consent_id"], "language": meta["tts"]["language"],
            "sample_rate": meta["sample_rate"], "created_at": meta["created_at"],
            "speech_s": meta["training"].get("speech_s"), "format_version": meta["format_version"],
        })
    return out


def missing_parts(folder: Path, meta: dict, *, recordings: Iterable[str]) -> list[str]:
    """What of an enrolled voice's folder is missing or changed, as short phrases; empty when it is whole.

    A missing or changed model makes every clone of the voice fail; a missing kept recording
    makes the audit fail (``missing-file``).

    Parameters
    ----------
    folder : Path
        The voice's folder, ``voices/<voice_id>/``.
    meta : dict
        Its parsed ``voice.json`` (:func:`read_meta`).
    recordings : iterable of str
        The recording names its ``voice.enrolled`` event lists (``a.wav``); each is kept in
        ``recordings/`` as an audio file of the same stem, any extension (the audit's rule).

    Returns
    -------
    list of str
        For example ``["model file model.pt missing", "1 of 2 kept recordings missing (b.wav)"]``.
    """
    problems = []
    weights = folder / WEIGHTS_FILE
    try:
        if sha256_file(weights) != meta.get("weights_sha256"):
            problems.append(f"model file {WEIGHTS_FILE} does not match the hash in {META_FILE}")
    except FileNotFoundError:
        problems.append(f"model file {WEIGHTS_FILE} missing")
    except OSError as exc:
        problems.append(f"model file {WEIGHTS_FILE} unreadable ({exc.strerror or exc})")
    names = sorted(str(n) for n in recordings)
    missing = missing_recordings(folder, names)
    if missing:
        problems.append(f"{len(missing)} of {len(names)} kept recordings missing ({first_few(missing)})")
    return problems

