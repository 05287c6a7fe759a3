"""The ``cloner`` generator family of the self-play corpus: voiceguard's own cloning pipeline.

A corpus voice with transcripts (the Asterisk "Allison" prompts, Debian package
``asterisk-core-sounds-en``) is enrolled in a throw-away home under a *licence* consent whose
only purpose is ``detector-training``; every spoof is then :func:`cloner.pipeline.speak` of a
held-out prompt (a sentence not used for enrollment), checked against that consent first.
The clips are the cloner's output *before* watermarking: the detector must find them
without the watermark's help (``voiceguard scan`` checks the mark separately).

Enrollment uses :meth:`cloner.convert.ConvertConfig.fast` on about 70 s of speech so the
family costs about a minute of one core; the voice is therefore rougher than a
production enrollment (3 min, 600 steps), which the model card says.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from guard.errors import DatasetError

PURPOSE = "detector-training"
LICENSE_TEXT = (
    "asterisk-core-sounds-en (Debian package), recordings by Allison Smith, licensed CC-BY-SA-3.0 "
    "(see /usr/share/doc/asterisk-core-sounds-en/copyright). The licence permits copying and adapting "
    "the recordings for any purpose with attribution; this consent limits their use to training and "
    "evaluating voiceguard's deepfake detector, and no clip leaves the self-play corpus."
)


@dataclass
class ClonerFamily:
    """A self-play spoof function backed by an enrolled voice.

    Call it as ``fn(y, sample_rate, rng)`` like the copy-synthesis families; ``y`` only sets
    the length budget (the clone says a held-out prompt, not the content of ``y``).

    Attributes
    ----------
    model : cloner.voice.VoiceModel
    texts : list of str
        Held-out prompts to speak (never in the enrollment recordings).
    speaker : str
        Manifest speaker label of every clip (``"cloner-<voice>"``).
    max_s : float > 0
        Clips are cut to at most this many seconds.
    """

    model: object
    texts: list[str]
    speaker: str
    max_s: float = 5.0
    home: object = field(default=None, repr=False)

    def __call__(self, y: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        from cloner.pipeline import speak
        from guard import consent
        from guard.audio import resample

        del y
        if self.home is not None:
            consent.check_enrolled(self.home, self.model.voice_id, PURPOSE, enrolled_under=self.model.consent_id)
        text = str(rng.choice(self.texts))
        out = speak(self.model, text)
        out = resample(out, orig_sr=self.model.sample_rate, target_sr=sample_rate)
        return out[: int(self.max_s * sample_rate)].astype(np.float32)


def asterisk_cloner(work: Path | None = None, *, seed: int, speech_s: float = 70.0, progress: bool = False) -> ClonerFamily:
    """Enroll the Asterisk voice under a detector-training licence consent; return its family.

    Parameters
    ----------
    work : Path, optional
        Folder for the throw-away home and enrollment recordings (default: a new temp folder).
    seed : int
        Chooses the enrollment prompts and seeds the conversion training.
    speech_s : float >= 60
        Seconds of speech to enroll (the cloner's minimum is 60).
    progress : bool
        Enrollment progress bars on stderr.

    Returns
    -------
    ClonerFamily
        Speaks the prompts that were not enrolled.

    Raises
    ------
    DatasetError
        When ``asterisk-core-sounds-en`` (audio and transcripts) is not installed.
    """
    from cloner.convert import ConvertConfig
    from cloner.enroll import enroll
    from cloner.recordings import quality_problem, speech_seconds
    from cloner.voice import load_voice
    from eval.bench_clone import asterisk_items
    from guard import consent
    from guard.audio import load, save
    from guard.home import init_home

    if speech_s < 60.0:
        raise DatasetError(f"speech_s must be >= 60 (the cloner's minimum), given speech_s={speech_s}")
    items = asterisk_items()  # DatasetError when the package is missing
    rate = 8000
    work = Path(work) if work is not None else Path(tempfile.mkdtemp(prefix="vg-selfplay-cloner-"))
    recordings = work / "recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    order = np.random.default_rng(seed).permutation(len(items))
    total, used = 0.0, set()
    for i in order:
        path, text = items[i]
        y = load(path, sample_rate=rate)
        if quality_problem(y, sample_rate=rate) is not None:
            continue
        save(recordings / f"{len(used):03d}.wav", y, sample_rate=rate)
        (recordings / f"{len(used):03d}.txt").write_text(text + "\n")
        used.add(int(i))
        total += speech_seconds(y, sample_rate=rate)
        if total >= speech_s:
            break
    held_out = [items[i][1] for i in order if int(i) not in used]
    if total < speech_s or not held_out:
        raise DatasetError(f"the asterisk prompts hold only {total:.0f} s of usable speech; {speech_s:g} s needed")
    home, _ = init_home(work / "home")
    voice_id = "selfplay-allison"
    expires = (date.today() + timedelta(days=30)).isoformat()
    record = consent.grant(home, voice_id=voice_id, subject="Allison Smith (asterisk-core-sounds-en recordings)",
                           operator="voiceguard self-play corpus", purposes=(PURPOSE,), expires=expires,
                           license_text=LICENSE_TEXT)
    enroll(home, voice_id, recordings_dir=recordings, consent_id=record.consent_id, config=ConvertConfig.fast(),
           seed=seed, progress=progress, warn=lambda m: None)
    return ClonerFamily(model=load_voice(home, voice_id), texts=held_out, speaker="cloner-allison", home=home)
