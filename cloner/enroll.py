"""Enrollment: a consenting speaker's recordings + transcripts -> a trained voice under the home.

Order of work: consent (exists, is this voice's, valid, names the TTS voice's language) -> every
recording checked, its transcript in a script that language is read in -> at
least 60 s of speech -> the statement's speaker is the recordings' speaker -> the TTS
tuned to the speaker's rate and pitch renders each transcript -> WORLD analysis -> DTW
alignment, refined through a linear conversion so that two different voices align and a
transcript of other words stands out -> network training -> spectral post-filter training -> the voice written to a
temporary folder and renamed into place -> ``voice.enrolled`` in the ledger. Any error
leaves the home as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cloner import prosody, tts, world
from cloner.convert import ConvertConfig, F0Map, Normaliser, input_frames, output_frames, train
from cloner.postfilter import train_postfilter
from cloner.recordings import Recording, read_recordings
from cloner.transcripts import check_transcripts, mismatched_transcripts, refine, refine_alignments
from cloner.voice import (
    FORMAT_VERSION,
    WEIGHTS_FILE,
    VoiceModel,
    check_voice_id,
    save_voice,
    voice_folder,
)
from guard import progress
from guard.audio import save
from guard.digest import sha256_file
from guard.errors import CloneError, ConsentError
from guard.home import Home
from guard.ledger.files import enrollment_staging

__all__ = ["EnrolledVoice", "enroll", "train_voice", "trim", "check_consent", "check_language", "check_speaker",
           "refine_alignments", "mismatched_transcripts"]

if TYPE_CHECKING:
    from guard.consent import Consent

MIN_SPEECH_S = 60.0
WARN_SPEECH_S = 180.0
TRIM_TOP_DB = 40.0


@dataclass(frozen=True)
class EnrolledVoice:
    """What :func:`enroll` made."""

    voice_id: str
    consent_id: str
    folder: Path
    speech_s: float
    n_recordings: int
    train_s: float
    model_sha256: str
    model_version: int
    warnings: tuple[str, ...]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["folder"] = str(self.folder)
        d["warnings"] = list(self.warnings)
        return d


def trim(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Cut leading and trailing silence (more than 40 dB below the peak)."""
    import librosa

    frame = int(0.032 * sample_rate)
    if y.shape[0] < 2 * frame:  # too short to trim (librosa would warn about its FFT size)
        return y
    out, _ = librosa.effects.trim(y, top_db=TRIM_TOP_DB, frame_length=frame, hop_length=int(0.008 * sample_rate))
    return out if out.shape[0] >= int(0.1 * sample_rate) else y


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Train on one intra-op thread, then restore the caller's setting.

    The batches are small: on this 2-core machine shared with other work, two spinning
    threads made each step 5-10x slower (1-2 s instead of 0.13-0.2 s), one thread does not.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _bar(total: int, desc: str, enabled: bool):  # noqa: ANN202 - a tqdm bar
    return progress.bar(total=total, desc=desc, enabled=enabled)


def train_voice(
    recordings: Sequence[Recording],
    *,
    voice_id: str,
    consent_id: str,
    language: str,
    config: ConvertConfig,
    seed: int,
    progress: bool,
) -> VoiceModel:
    """Train a voice from checked recordings (no consent or home involved; :func:`enroll` wraps it).

    Raises
    ------
    CloneError
        A transcript that does not match its audio (named), or no voiced speech.
    """
    started = time.perf_counter()
    sample_rate = recordings[0].sample_rate
    targets = [trim(r.y, sample_rate=sample_rate) for r in recordings]
    texts = [r.text for r in recordings]
    settings = prosody.estimate_tts_settings(targets, texts, sample_rate=sample_rate, language=language)
    source_feats, target_feats = [], []
    with _bar(len(recordings), "analysing", progress) as bar:
        for text, y in zip(texts, targets):
            rendered = tts.synthesize(text, voice=settings.language, rate_wpm=settings.rate_wpm, pitch=settings.pitch,
                                      pitch_range=settings.pitch_range, sample_rate=sample_rate)
            source_feats.append(world.analyze(trim(rendered, sample_rate=sample_rate), sample_rate=sample_rate))
            target_feats.append(world.analyze(y, sample_rate=sample_rate))
            bar.update(1)
    alignments, mapped = refine(source_feats, target_feats)
    check_transcripts([r.transcript_path.name for r in recordings], mapped, target_feats, alignments)
    f0_map = F0Map.fit([s.f0_hz for s in source_feats], [t.f0_hz for t in target_feats])
    x_raw = [input_frames(s) for s in source_feats]
    y_raw = [output_frames(t)[a.source_to_target] for t, a in zip(target_feats, alignments)]
    in_norm, out_norm = Normaliser.fit(np.concatenate(x_raw)), Normaliser.fit(np.concatenate(y_raw))
    target_gv = np.mean([t.mcep.var(axis=0) for t in target_feats], axis=0)
    with _bar(config.steps, "training", progress) as bar:
        def on_step(step: int, loss: float) -> None:
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{loss:.3f}")

        state = train([in_norm.apply(x) for x in x_raw], [out_norm.apply(y) for y in y_raw],
                      config=config, seed=seed, on_step=on_step)
    postfilter = None
    if config.postfilter_steps:
        vocoded = [world.synthesize(t)[: y.shape[0]] for t, y in zip(target_feats, targets)]
        with _bar(config.postfilter_steps, "post-filter", progress) as bar:
            postfilter = train_postfilter(vocoded, targets, sample_rate=sample_rate, steps=config.postfilter_steps,
                                          seed=seed, on_step=lambda step, loss: bar.update(1))
    train_s = time.perf_counter() - started
    return VoiceModel(
        voice_id=voice_id, consent_id=consent_id, sample_rate=sample_rate, tts=settings, config=config,
        in_norm=in_norm, out_norm=out_norm, f0_map=f0_map, target_gv=target_gv,
        pause_s=prosody.sentence_pause_s(targets, sample_rate=sample_rate), net=state.net, postfilter=postfilter,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        training={
            "speech_s": round(sum(r.speech_s for r in recordings), 2), "n_recordings": len(recordings),
            "train_s": round(train_s, 2), "seed": seed, "steps": config.steps,
            "final_loss": round(float(np.mean(state.history[-20:])), 4),
            "alignment_cost_median": round(float(np.median([a.cost_per_frame for a in alignments])), 4),
            "files": {r.audio_path.name: sha256_file(r.audio_path) for r in recordings},
        },
    )


def check_consent(home: Home, voice_id: str, consent_id: str) -> Consent:
    """The consent exists, names this voice and is valid now.

    Raises
    ------
    ConsentError
    """
    from guard import consent

    return consent.get_valid(home, consent_id, voice_id=voice_id, needed_for="enrollment")


def check_speaker(record: Consent, recordings: Sequence[Path]) -> None:
    """When the evidence is a spoken statement, its speaker must be the speaker of every recording.

    The recordings together must reach :data:`guard.consent.SPEAKER_THRESHOLD`, each one on its own
    :data:`guard.consent.SPEAKER_THRESHOLD_EACH` and each 1.6 s window of each one
    :data:`guard.consent.SPEAKER_THRESHOLD_WINDOW` (:func:`guard.consent.speaker_matches`).

    Raises
    ------
    ConsentError
        One line naming the first five recordings that do not match as a whole, then the first five
        of the others that do not match in part, each with its similarity, and how many.
    """
    from guard import consent

    def first_five(scored: list[tuple[Path, float]]) -> str:
        named = ", ".join(f"{path.name} {score:.2f}" for path, score in scored[:5])
        return named + (f" and {len(scored) - 5} more" if len(scored) > 5 else "")

    if record.evidence.get("kind") != "statement":
        return
    match = consent.speaker_matches(record, list(recordings))
    if match.ok:
        return
    fix = "only the person who consented can be enrolled"
    n = len(match.recordings)
    together = f"all {n} together score {match.score:.2f} (needs {match.threshold:.2f})"
    problems = []
    if match.mismatched:
        problems.append(f"the speaker of {len(match.mismatched)} of {n} recordings does not match the consent "
                        f"statement's (each needs similarity {match.each_threshold:.2f}): {first_five(match.mismatched)}")
    if match.mixed:
        problems.append(f"part of {len(match.mixed)} {'more ' if match.mismatched else ''}of {n} recordings is another "
                        f"voice than the consent statement's (each 1.6 s of speech needs similarity "
                        f"{match.window_threshold:.2f}; its lowest shown): {first_five(match.mixed)}")
    if not problems:
        raise ConsentError(f"the recordings' speaker does not match the consent statement's: {together}; {fix}")
    also = "" if match.mean_ok else f"; {together}"
    raise ConsentError(f"{'; '.join(problems)}{also}; remove them or record them again; {fix}")


def _check_never_enrolled(home: Home, voice_id: str) -> None:
    """A voice id is enrolled once: the ledger, not the voice folder, says whether it was."""
    from cloner.authorize import enrollments

    earlier = enrollments(home, voice_id)
    if earlier:
        raise CloneError(f"voice {voice_id!r} was enrolled before (ledger event {earlier[0].seq}), and a voice id is "
                         f"enrolled once; choose another id")


def check_language(record: Consent, language: str) -> str:
    """The language tag of the TTS front end's espeak-ng voice ``language`` (``en-us``), which consent ``record`` names.

    A consent's tag covers the language it equals or prefixes at a ``-`` (consent ``en`` covers
    ``en-us`` and ``en-gb``, consent ``en-us`` only ``en-us``; :func:`guard.consent.record.language_covered`).

    Raises
    ------
    ConsentError
        The consent does not name the language: one line naming the consent's languages and the fix
        (``--language`` suggests only a consent language espeak-ng has a voice for).
    """
    from cloner.authorize import uncovered_language
    from guard.consent.record import LANGUAGE_TAG

    tag = uncovered_language(record, language)
    if tag is None:
        return tts.voice_language(language)
    asked = tag
    while not LANGUAGE_TAG.fullmatch(asked) and "-" in asked:  # en-gb-x-rp: a consent can name en-gb, which covers it
        asked = asked.rpartition("-")[0]
    spoken = {lang.lower() for v in tts.list_voices() for lang in v.languages}
    usable = [lang for lang in record.languages if lang in spoken]
    instead = (f"enroll with a voice of that language (--language {usable[0]})" if usable else
               f"espeak-ng has no voice for {', '.join(record.languages)} (`voiceguard tts --list-voices` lists "
               f"them), so no voice can be enrolled under it")
    raise ConsentError(f"language {tag} is outside consent {record.consent_id}, whose speaker consented to be cloned in "
                       f"{', '.join(record.languages)} only; {instead}, or have the speaker grant a consent that "
                       f"names {asked} (`voiceguard consent grant ... --language {asked}`)")


def _check_transcript_scripts(recordings: Sequence[Recording], *, language: str, folder: Path) -> None:
    """CloneError naming the transcripts with letters the espeak-ng voice ``language`` does not read
    (:func:`cloner.tts.check_script`): the TTS would speak their letter names, not their words."""
    from guard.errors import TTSError

    bad: list[tuple[str, str]] = []
    for r in recordings:
        try:
            tts.check_script(r.text, voice=language)
        except TTSError as exc:
            bad.append((r.transcript_path.name, str(exc)))
    if bad:
        others = f" (and {len(bad) - 1} more: {', '.join(name for name, _ in bad[1:4])}" \
                 f"{', ...' if len(bad) > 4 else ''})" if len(bad) > 1 else ""
        raise CloneError(f"{folder}: transcript {bad[0][0]}{others}: {bad[0][1]}")


def enroll(
    home: Home,
    voice_id: str,
    *,
    recordings_dir: Path,
    consent_id: str,
    language: str = "en-us",
    config: ConvertConfig | None = None,
    seed: int = 0,
    progress: bool = True,
    warn: Callable[[str], None] | None = None,
) -> EnrolledVoice:
    """Enroll a consenting speaker as ``voice_id``.

    Parameters
    ----------
    home : Home
    voice_id : str
        1-64 letters, digits, ``_.-``; must not be enrolled yet.
    recordings_dir : Path
        Audio files with same-name ``.txt`` transcripts, >= 60 s of speech in all.
    consent_id : str
        A valid consent for ``voice_id`` (see ``voiceguard consent grant``).
    language : str
        espeak-ng voice of the TTS front end; its language must be one the consent names
        (:func:`check_language`), and is logged with the enrollment (``voice.enrolled``'s
        ``language``).
    config : ConvertConfig, optional
        Default :class:`ConvertConfig`; ``ConvertConfig.fast()`` for demos and tests.
    seed : int
    progress : bool
        Progress bars on stderr.
    warn : callable(str), optional
        Receives warnings (e.g. under 3 minutes of speech); default prints to stderr.

    Raises
    ------
    ConsentError, CloneError, ParameterError, TTSError
        Each names what to fix (a language the consent does not name: ConsentError; a transcript
        with letters the voice's language is not read in: CloneError); nothing is written under
        the home.
    """
    voice_id = check_voice_id(voice_id)
    config = (config or ConvertConfig()).validate()
    final = voice_folder(home, voice_id)
    if final.exists():
        raise CloneError(f"voice {voice_id!r} is already enrolled at {final}; choose another id")
    _check_never_enrolled(home, voice_id)
    tts.synthesize("check", voice=language, sample_rate=16000)  # an unknown language fails here, early
    record = check_consent(home, voice_id, consent_id)
    check_language(record, language)
    recordings = read_recordings(Path(recordings_dir))
    _check_transcript_scripts(recordings, language=language, folder=Path(recordings_dir))
    speech_s = sum(r.speech_s for r in recordings)
    if speech_s < MIN_SPEECH_S:
        raise CloneError(f"{recordings_dir}: only {speech_s:.1f} s of speech in {len(recordings)} file(s); "
                         f"enrollment needs at least {MIN_SPEECH_S:g} s (3 minutes recommended)")
    check_speaker(record, [r.audio_path for r in recordings])
    warnings: list[str] = []
    if speech_s < WARN_SPEECH_S:
        warnings.append(f"only {speech_s:.0f} s of speech; 3 minutes or more gives a closer voice")
    for message in warnings:
        (warn or (lambda m: print(f"Warning: {m}", file=sys.stderr)))(message)
    with _one_torch_thread():
        model = train_voice(recordings, voice_id=voice_id, consent_id=consent_id, language=language,
                            config=config, seed=seed, progress=progress)
    return _install(home, model, recordings, final, tuple(warnings))


def _install(home: Home, model: VoiceModel, recordings: Sequence[Recording], final: Path,
             warnings: tuple[str, ...]) -> EnrolledVoice:
    """Write the voice to a hidden temporary folder, rename it into place, then log it."""
    from guard import ledger

    home.voices_dir.mkdir(parents=True, exist_ok=True)
    tmp = enrollment_staging(home, model.voice_id)
    try:
        digest = save_voice(model, tmp)
        audio_dir = tmp / "recordings"
        audio_dir.mkdir()
        for r in recordings:
            save(audio_dir / f"{r.name}.flac", r.y, sample_rate=r.sample_rate)
            (audio_dir / f"{r.name}.txt").write_text(r.text + "\n", encoding="utf-8")
        try:
            os.rename(tmp, final)
        except OSError:
            raise CloneError(f"voice {model.voice_id!r} was enrolled by another process meanwhile; nothing changed") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        ledger.log_enrollment(home, voice_id=model.voice_id, consent_id=model.consent_id,
                              files=model.training["files"], model_sha256=digest, model_version=str(FORMAT_VERSION),
                              model_path=final / WEIGHTS_FILE, language=tts.voice_language(model.tts.language))
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
    return EnrolledVoice(model.voice_id, model.consent_id, final, model.training["speech_s"], len(recordings),
                         model.training["train_s"], digest, FORMAT_VERSION, warnings)
