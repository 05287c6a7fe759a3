"""What goes into the self-play corpus: :class:`SelfplayConfig`, and the check of its generator families."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eval.selfplay_families import COPY_FAMILIES
from eval.selfplay_sources import DEFAULT_ASTERISK, DEFAULT_LIBRISPEECH
from guard.errors import DatasetError


@dataclass
class SelfplayConfig:
    """What goes into the corpus and how it is split.

    ``train_families`` make the spoofs of train and dev (dev on its own speakers);
    ``dev_only_families`` only those of dev (unseen in training, for honest model choice);
    ``test_families`` those of test, never seen in training or dev. Each bona fide clip of
    train or dev is copied by ``copies_per_clip`` of the training copy-synthesis families
    (drawn at random), each dev clip also by every dev-only family, each test clip by every
    test family. ``speaker_fractions`` split the
    multi-speaker source (train, dev, test); single-speaker sources (Allison) go to train.
    """

    librispeech: Path | None = DEFAULT_LIBRISPEECH
    asterisk: Path | None = DEFAULT_ASTERISK
    max_clip_s: float = 5.0
    min_clip_s: float = 1.0
    crops_per_file: int = 2
    max_single_speaker: int = 200
    # More single-speaker folders of real speech (e.g. the other Asterisk languages), each
    # one speaker named by its folder, all in train, at most ``max_extra_single`` clips each.
    extra_single: tuple[Path, ...] = ()
    max_extra_single: int = 60
    # Folders of one speaker's short recordings (words, letters: Debian's ktuberling-data),
    # each joined into clips of ``joined_clip_s`` seconds or more with 0.2 s pauses, as
    # ``voiceguard bench false-alarms`` joins them, at most ``max_joined_clips`` per folder;
    # training bona fide, one speaker per folder, so that read words and prompts of many
    # languages and microphones are real speech to the detector too (corpus v8).
    joined_voices: tuple[Path, ...] = ()
    joined_clip_s: float = 3.0
    max_joined_clips: int = 20
    espeak_clips: dict[str, int] = field(default_factory=lambda: {"train": 250, "dev": 60})
    copies_per_clip: int = 2
    speaker_fractions: tuple[float, float, float] = (0.6, 0.14, 0.26)
    # By mechanism: formant synthesis (espeak), source-filter vocoder (world), phase-vocoder
    # modification (pvshift, timestretch), one-pass phase rebuilt from magnitude
    # (phaserebuild). Dev adds families never trained on (an excitation-plus-envelope
    # vocoder, a sinusoidal one and iterative phase retrieval), so that choices made on dev
    # measure unseen attacks too. Test: an unseen source-filter vocoder (lpc), waveform
    # grain re-spacing (psola), a neural vocoder (neuralvoc, corpus v9) and the cloner when
    # given. (Corpus v4, the shipped model's training corpus, had dev-only cepvoc and test
    # griffinlim, lpc.)
    train_families: tuple[str, ...] = ("espeak", "world", "pvshift", "timestretch", "phaserebuild")
    dev_only_families: tuple[str, ...] = ("cepvoc", "harmonic", "griffinlim")
    test_families: tuple[str, ...] = ("lpc", "psola", "neuralvoc")


def family_splits(config: SelfplayConfig, extra_roles: dict[str, str] | None = None) -> tuple[list[str], list[str], list[str]]:
    """The training, dev-only and test families of ``config`` plus extra families (name -> "test" or another role).

    Raises
    ------
    DatasetError
        An unknown family name; a family in two roles (test families must be unseen in
        training and dev, dev-only ones in training); no test or no training family at all.
    """
    extra = extra_roles or {}
    test = list(config.test_families) + [k for k, role in extra.items() if role == "test"]
    train = list(config.train_families) + [k for k, role in extra.items() if role != "test"]
    dev_only = list(config.dev_only_families)
    known = {"espeak", *COPY_FAMILIES, *extra}
    unknown = sorted(set(train + dev_only + test) - known)
    if unknown:
        raise DatasetError(f"unknown generator families {unknown}; known: {sorted(known)}")
    shared = sorted(set(train + dev_only) & set(test))
    if shared:
        raise DatasetError(f"generator families {shared} are in both training and test; test families must be unseen")
    if set(dev_only) & set(train):
        raise DatasetError(f"dev-only families {sorted(set(dev_only) & set(train))} are also training families")
    if not test:
        raise DatasetError("no test family: name at least one with --test-families (or keep the cloner)")
    if not train:
        raise DatasetError("no training family: name at least one with --train-families")
    return train, dev_only, test
