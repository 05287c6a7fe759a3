"""clone(): consent check -> TTS -> conversion -> WORLD synthesis + post-filter -> loudness -> watermark -> provenance.

Every clip :func:`clone` writes carries the home's watermark with a fresh payload and a
provenance record (C2PA manifest included) in the ledger; nothing turns either off. A clone
outside its consent is refused before any audio is made: no file is written and the
refusal is logged as ``clone.refused``. The audio is written in a hidden staging folder beside
``out_path`` and renamed only after its record exists, so a failure leaves no clip behind; a
recorded clip that could not be renamed (the process was stopped, the rename failed) stays in
that folder for :func:`cloner.recover.recover`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from cloner import tts, world
from cloner.authorize import authorize
from cloner.convert import convert
from cloner.output import (
    WRITABLE_EXTENSIONS,
    check_output,
    place,
    release,
    reserve,
    sidecar_path,
    staging_folder,
)
from cloner.recordings import frame_levels_db
from cloner.voice import (
    META_FILE,
    VoiceModel,
    check_voice_id,
    load_voice,
    read_meta,
    voice_folder,
)
from guard.audio import save
from guard.errors import CloneError, ConsentError, ParameterError, WatermarkError
from guard.home import Home
from guard.watermark.rotation import current_key

GENERATOR = "voiceguard-cloner"
TARGET_LEVEL_DBFS = -20.0
PEAK_LIMIT = 0.89  # -1 dBFS
MAX_TEXT_CHARS = 2000
MARK_ATTEMPTS = 3
__all__ = ["CloneResult", "WRITABLE_EXTENSIONS", "check_text", "clone", "mark", "normalise_loudness", "render_tts",
           "speak", "split_sentences"]
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


@dataclass(frozen=True)
class CloneResult:
    """A written, marked and recorded clip; ``to_dict`` gives the CLI contract's keys."""

    file: str
    record_id: str
    payload: str
    voice_id: str
    consent_id: str
    manifest: str | None
    duration_s: float
    sample_rate: int

    def to_dict(self) -> dict:
        return asdict(self)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: split after . ! ? ; : followed by space; pieces with nothing to speak dropped (a
    letter or digit counts as espeak-ng reads it: ``Ⓐ`` is a letter, :func:`cloner.tts.readable_text`)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if any(ch.isalnum() for ch in tts.readable_text(s))]


def normalise_loudness(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Scale so speech frames sit at :data:`TARGET_LEVEL_DBFS` RMS, then keep peaks under -1 dBFS."""
    levels = frame_levels_db(y, sample_rate=sample_rate)
    active = levels[levels > np.percentile(levels, 95) - 35.0]
    level_db = 10.0 * np.log10(np.mean(10.0 ** (active / 10.0))) if active.size else -120.0
    gain = 10.0 ** ((TARGET_LEVEL_DBFS - level_db) / 20.0) if level_db > -100 else 1.0
    out = y * gain
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > PEAK_LIMIT:
        out = out * (PEAK_LIMIT / peak)
    return out.astype(np.float32)


def render_tts(model: VoiceModel, text: str) -> np.ndarray:
    """The TTS front end alone, with the voice's language, rate and pitch (the baseline).

    An English voice reads ``text`` as a reader would ("$3.50" as "3 dollars and 50 cents"; see
    :mod:`cloner.normalize`); this is where :func:`speak`, and so :func:`clone`, has it done.
    """
    s = model.tts
    return tts.synthesize(text, voice=s.language, rate_wpm=s.rate_wpm, pitch=s.pitch,
                          pitch_range=s.pitch_range, sample_rate=model.sample_rate)


def check_text(text: object, *, voice: str | None = None) -> str:
    """``text`` if it has something to speak: 1 to :data:`MAX_TEXT_CHARS` characters, a letter or digit among
    them (:func:`cloner.tts.check_has_words`), nothing espeak-ng would drop or read out as words
    (:func:`cloner.tts.check_speakable`), and, given the espeak-ng ``voice`` that will speak it, no letter of a
    script its language is not read in and none it reads as a code point (:func:`cloner.tts.check_script`).

    ``text`` is returned as given: what a voice says for it (:func:`cloner.tts.readable_text`, then
    :mod:`cloner.normalize` in English) is made at synthesis (:func:`render_tts`), and the clip's record keeps
    the text as given."""
    if not isinstance(text, str) or not text.strip():
        raise tts.TTSError("text is empty; give at least one word to speak")
    if len(text) > MAX_TEXT_CHARS:
        raise tts.TTSError(f"text is {len(text)} characters, over the maximum of {MAX_TEXT_CHARS}; split it")
    text = tts.check_speakable(tts.check_has_words(text))
    return text if voice is None else tts.check_script(text, voice=voice)


def speak(model: VoiceModel, text: str) -> np.ndarray:
    """Say ``text`` in the enrolled voice, unmarked (callers mark it; :func:`clone` always does).

    No consent is checked and nothing is logged here: this is the synthesis step :func:`clone`
    wraps, for callers that answer for their own use (the benchmarks' detector-training
    spoofs, made under a licence consent). Use :func:`clone` for anything that leaves the
    process.

    Parameters
    ----------
    model : VoiceModel
    text : str
        1 to :data:`MAX_TEXT_CHARS` characters; several sentences are joined by the voice's pause.
        Each sentence is read as a reader would in an English voice (:func:`render_tts`).

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32] at ``model.sample_rate``, loudness-normalised.
    """
    from cloner.enroll import trim

    sentences = split_sentences(check_text(text, voice=model.tts.language)) or [text]
    pause = np.zeros(int(model.pause_s * model.sample_rate), dtype=np.float32)
    pieces: list[np.ndarray] = []
    for i, sentence in enumerate(sentences):
        source = trim(render_tts(model, sentence), sample_rate=model.sample_rate)
        feats = world.analyze(source, sample_rate=model.sample_rate)
        converted = convert(feats, net=model.net, in_norm=model.in_norm, out_norm=model.out_norm,
                            f0_map=model.f0_map, target_gv=model.target_gv, gv_weight=model.config.gv_weight)
        if i:
            pieces.append(pause)
        y = world.synthesize(converted)
        pieces.append(model.postfilter(y) if model.postfilter is not None else y)
    return normalise_loudness(np.concatenate(pieces), sample_rate=model.sample_rate)


def _refuse(home: Home, voice_id: str, purpose: str, reason: str) -> ConsentError:
    from guard import ledger

    ledger.log_refusal(home, voice_id=voice_id, purpose=purpose, reason=reason)
    return ConsentError(f"clone refused: {reason}")


def clone(home: Home, voice_id: str, text: str, *, purpose: str, out_path: Path, overwrite: bool = False) -> CloneResult:
    """Make a consented, watermarked, recorded clip of ``text`` in ``voice_id``'s voice.

    Parameters
    ----------
    home : Home
    voice_id : str
        An enrolled voice.
    text : str
        What the clip says, as the user wrote it: the ledger record hashes this text
        (``text_sha256``), while an English voice speaks it as a reader would ("$3.50" as
        "3 dollars and 50 cents", :mod:`cloner.normalize`). The C2PA manifest holds no text.
    purpose : str
        Must be among the purposes the enrolled speaker consented to (the consent the voice
        was enrolled under, or the same speaker's renewal); see :mod:`cloner.authorize`.
    out_path : Path
        Audio file to write (format from its extension); its folder must exist, and it must
        be outside the data home (:func:`cloner.output.check_output`).
    overwrite : bool
        Replace an existing file at ``out_path`` (default: refuse it).

    Returns
    -------
    CloneResult

    Raises
    ------
    ConsentError
        Refused (unknown voice, no enrollment record, no consent of the enrolled speaker,
        wrong purpose, a language the consent does not name, expired, enrollment consent
        revoked): logged as ``clone.refused``; no file written.
    CloneError, TTSError, AudioError, WatermarkError, ProvenanceError
        A text the voice cannot say (letters of a script its language is not read in, named:
        :func:`cloner.tts.check_script`) is refused before any speech is made. Nothing is left at ``out_path``; except that a clip already recorded when the rename into
        ``out_path`` fails stays in its staging folder, which the CloneError names (stopped there,
        by a signal or Ctrl-C, the clip stays too): :func:`cloner.recover.recover` places it.
    """
    from guard import provenance

    # Consent first, so that every refused clone is logged whatever else is wrong with the call.
    try:
        voice_id = check_voice_id(voice_id)
    except ParameterError as exc:  # no voice can have this id: an unknown voice, refused and logged
        raise _refuse(home, repr(voice_id)[:80], purpose, str(exc)) from None
    folder = voice_folder(home, voice_id)
    if not (folder / META_FILE).is_file():
        from cloner.authorize import absent_voice

        raise _refuse(home, voice_id, purpose, absent_voice(home, voice_id))
    meta = read_meta(folder)
    language = _meta_language(meta)
    try:
        record = authorize(home, voice_id, purpose, model_consent_id=str(meta.get("consent_id")),
                           weights_sha256=meta.get("weights_sha256"), language=language)
    except ConsentError as exc:
        raise _refuse(home, voice_id, purpose, str(exc)) from None
    text = check_text(text, voice=language)
    out_path = check_output(Path(out_path), home=home, overwrite=overwrite)
    model = load_voice(home, voice_id)
    y = speak(model, text)

    def still_allowed() -> None:
        # run under the ledger's write lock just before the record lands: a revocation that came
        # in while the clip was made refuses it, and OUT is taken now or never (two clones racing
        # for one name: the loser logs nothing)
        authorize(home, voice_id, purpose, model_consent_id=str(meta.get("consent_id")),
                  weights_sha256=meta.get("weights_sha256"), language=language)
        if not overwrite:
            # the manifest is signed by now, so whether it went into a sidecar is known
            for name in (out_path, *([sidecar_path(out_path)] if sidecar_path(staged).exists() else [])):
                reserve(name)
                reserved.append(name)
        recording.append(payload)  # from here the record may be in the ledger

    reserved: list[Path] = []
    recording: list[int] = []
    # Build the clip under its final name in a hidden folder beside it: the C2PA manifest
    # names the file, and a failure anywhere leaves nothing at out_path.
    key = current_key(home).key  # the key the ledger names as current; a refusal here leaves nothing behind
    staging = staging_folder(out_path)
    try:
        # A short clip may carry one payload and not another, and a lossy format may lose what
        # the samples carried; every try is read back from the encoded file (provenance.issue).
        for attempt in range(MARK_ATTEMPTS):
            last = attempt == MARK_ATTEMPTS - 1
            payload = provenance.new_payload(home)
            try:
                marked = mark(y, sample_rate=model.sample_rate, payload=payload, key=key)
            except CloneError:
                if last:
                    raise
                continue
            staged = save(staging.path / out_path.name, marked, sample_rate=model.sample_rate)
            try:
                prov = provenance.issue(home, payload=payload, voice_id=voice_id, consent_id=record.consent_id,
                                        text=text, audio_path=staged, generator=GENERATOR,
                                        generator_version=_version(), purpose=purpose, final_path=out_path,
                                        precondition=still_allowed)
                break
            except WatermarkError as exc:  # the encoded file lost the payload
                if last:
                    raise CloneError(f"{out_path}: the {out_path.suffix} encoding does not keep a readable "
                                     f"watermark ({exc}); write .wav or .flac, or a longer text") from None
            except ConsentError as exc:
                raise _refuse(home, voice_id, purpose, str(exc)) from None
        sidecar = sidecar_path(staged)
        if sidecar.exists():  # the record names it beside out_path already (final_path)
            place(sidecar, sidecar_path(out_path), overwrite=True)  # OUT is ours: reserved, or --force
        place(staged, out_path, overwrite=True)
        reserved.clear()
    except BaseException as exc:
        if recording and _recorded(home, recording[-1]):
            # the ledger vouches for this clip now: keep it, and OUT's reservation, for recover()
            staging.keep()
            if isinstance(exc, Exception):
                raise CloneError(f"{out_path}: the clip is recorded in the ledger but could not be moved into "
                                 f"place ({exc}); it waits at {staged}: move it to {out_path}, or let the next "
                                 f"`voiceguard clone` into {out_path.parent} do it") from exc
            raise
        staging.discard()
        for name in reserved:  # taken, but no clip was placed: give the name back
            release(name)
        raise
    staging.discard()
    return CloneResult(str(out_path), prov.record_id, f"{payload:08x}", voice_id, record.consent_id,
                       prov.manifest, round(marked.shape[0] / model.sample_rate, 3), model.sample_rate)


def _meta_language(meta: dict) -> str | None:
    """The espeak-ng voice a ``voice.json`` speaks (its ``tts.language``); None when it names none (loading the
    voice then fails as a corrupt model)."""
    settings = meta.get("tts")
    language = settings.get("language") if isinstance(settings, dict) else None
    return language if isinstance(language, str) else None


def _recorded(home: Home, payload: int) -> bool:
    """Whether the clip carrying ``payload`` is in the ledger; assumed so when the look itself fails.

    Looked up after Ctrl-C too (a few milliseconds): a clone stopped before its record landed
    gives its reserved name back instead of leaving an empty file there for good. Only a
    second interruption, or a ledger that cannot be read, keeps the clip for :mod:`cloner.recover`.
    """
    from guard import provenance

    try:
        return provenance.lookup(home, payload) is not None
    except BaseException:  # noqa: BLE001 - unsure (or stopped again): keep it, placing it costs only a later look
        return True


def mark(y: np.ndarray, *, sample_rate: int, payload: int, key: bytes) -> np.ndarray:
    """Embed the watermark and read it back; refuse a clip whose payload would not be readable.

    Clips under the watermark's payload length (:data:`guard.watermark.MIN_PAYLOAD_S` plus
    0.25 s, 3.3 s) get trailing silence first; speech that is still too short to carry the
    payload is refused rather than shipped half-marked.

    Raises
    ------
    CloneError
        The marked clip does not verify with ``payload``: the message says whether the clip
        was short (the text) or long enough but carried too little of the mark (the voice's
        audio: quiet, or little of it voiced, as from a voice trained for a few steps).
    """
    from guard import watermark

    spoken_s = y.shape[0] / sample_rate
    target = int((watermark.MIN_PAYLOAD_S + 0.25) * sample_rate)
    if y.shape[0] < target:
        y = np.concatenate([y, np.zeros(target - y.shape[0], dtype=np.float32)])
    marked = watermark.embed(y, sample_rate=sample_rate, payload=payload, key=key)
    check = watermark.verify(marked, sample_rate=sample_rate, keys=[key])
    if not check.detected or check.payload != payload:
        if spoken_s < 2 * watermark.MIN_PAYLOAD_S:
            raise CloneError(f"the text is too short to carry a readable watermark ({spoken_s:.1f} s of audio; "
                             f"{check.reason}); every clip must, so give a longer text (about "
                             f"{watermark.MIN_PAYLOAD_S:.0f} s of speech or more)")
        raise CloneError(f"the voice's {spoken_s:.1f} s of audio carried too little of the watermark to read it "
                         f"back ({check.reason}); every clip must. The voice may speak too quietly or with "
                         f"too little voiced sound (a voice enrolled with few training steps does): try "
                         f"another text, or enroll the voice again with more steps")
    return marked


def _version() -> str:
    from guard import __version__

    return __version__
