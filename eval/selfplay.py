"""Build the self-play corpus: real speech against spoofs made here by several generator families.

Bona fide speech comes from any folders of real recordings (for development the LibriSpeech
sample, 16 kHz, wideband, and the Asterisk "Allison" prompts, 8 kHz, telephone band, mixed
so that bandwidth is no cue). Spoofs come from generator families implemented here:

- ``espeak``: espeak-ng formant TTS, many voices and variants (``cloner.tts``);
- ``world``: WORLD copy-synthesis through the cloner's vocoder (``cloner.world``);
- ``pvshift``: phase-vocoder pitch and formant shift by 2-4 semitones (librosa);
- ``timestretch``: phase-vocoder tempo change by 0.8-0.9 or 1.1-1.25 (librosa), pitch kept;
- ``griffinlim``: magnitude-only STFT re-synthesis with Griffin-Lim phase (librosa);
- ``lpc``: a classic LPC vocoder, pulse-train or noise excitation through an all-pole filter;
- ``phaserebuild``: magnitude-only STFT re-synthesis with one peak-locked phase pass;
- ``cepvoc``: a cepstrally smoothed envelope on a pulse/noise excitation (STFT synthesis);
- ``harmonic``: a harmonic-plus-noise (sinusoidal) vocoder: F0 harmonics, shaped noise above;
- ``wsola``: WSOLA tempo change: waveform grains re-spaced where they line up (:mod:`eval.wsola`);
- ``neuralvoc``: copy-synthesis from a log-mel spectrogram through a small MelGAN-style
  neural vocoder trained here on the training speakers (:mod:`eval.neural_vocoder`);
- ``psola``: TD-PSOLA pitch shift: the speech's own pitch-period grains laid at a new spacing
  (:mod:`eval.psola`), the only family that never leaves the waveform;
- ``cloner``: voiceguard's own cloning pipeline speaking held-out prompts in the Asterisk
  voice, enrolled under a detector-training licence consent (:mod:`eval.selfplay_cloner`);
  passed through ``extra_families`` (any callable can be), a test family by default.

Speakers are disjoint across train, dev and test (the ``cloner`` family speaks in the
Allison voice, whose real prompts are training bona fide). Generator families of the test split
are disjoint from those of train and dev, so the test split measures unseen speakers *and*
unseen attacks; dev holds unseen speakers of the training families plus dev-only families
never trained on (by default ``cepvoc``, ``harmonic`` and ``griffinlim``: corpus v6), so that
the choice between models is made on unseen attacks too, without looking at test (whose
default families are ``lpc``, ``psola``, ``neuralvoc`` and the cloner: corpus v9, which is
v6 with ``neuralvoc`` added to test). Everything is
written at 16 kHz as 16-bit WAV with a ``manifest.csv`` (``file,label,speaker,attack,split``)
that ``voiceguard detect train`` reads.

This module is the command (``python -m eval.selfplay``) and the cloner family's set-up; the
other families are in :mod:`eval.selfplay_families`, the real-speech sources and the speaker
split in :mod:`eval.selfplay_sources`, the configuration in :mod:`eval.selfplay_config`, and
the writing of the clips and the manifest in :mod:`eval.selfplay_build`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from eval.selfplay_build import build
from eval.selfplay_config import SelfplayConfig, family_splits
from eval.selfplay_families import COPY_FAMILIES, SpoofFn
from eval.selfplay_sources import DEFAULT_ASTERISK, DEFAULT_LIBRISPEECH
from guard.errors import DatasetError, GuardError


def cloner_families(work: Path, *, seed: int, quiet: bool) -> dict[str, tuple[SpoofFn, str]]:
    """``{"cloner": (fn, "test")}`` with the Asterisk voice enrolled under ``work``; ``{}`` when it is absent.

    The cloner is a test family: it is the attack this project most needs to catch, and
    keeping it out of training measures whether the detector finds it unseen. It shares
    parts with training families (espeak-ng front end, WORLD vocoder), which the model card
    says when it reports the number.
    """
    from eval.selfplay_cloner import asterisk_cloner

    try:
        family = asterisk_cloner(work, seed=seed, progress=not quiet)
    except DatasetError as exc:
        if not quiet:
            click.echo(f"no cloner family: {exc}", err=True)
        return {}
    return {"cloner": (family, "test")}


def _names(listed: str) -> tuple[str, ...]:
    return tuple(f.strip() for f in listed.split(",") if f.strip())


@click.command("selfplay", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Corpus folder to write.")
@click.option("--librispeech", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_LIBRISPEECH, show_default=True,
              help="Folder of multi-speaker real speech (speaker = file name up to the first dash).")
@click.option("--asterisk", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_ASTERISK, show_default=True,
              help="Folder of single-speaker telephone-band real speech.")
@click.option("--single-speaker", "extra_single", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Another folder of one speaker's real speech (training bona fide; the folder names the speaker). Repeatable.")
@click.option("--joined-voice", "joined_voices", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A folder of one speaker's short recordings (words, letters), joined into 3 s clips with 0.2 s "
                   "pauses (training bona fide; the folder names the speaker). Repeatable.")
@click.option("--train-families", default=",".join(SelfplayConfig.train_families), show_default=True,
              help=f"Comma-separated families of train and dev, from: espeak, {', '.join(COPY_FAMILIES)}.")
@click.option("--dev-only-families", default="cepvoc,harmonic,griffinlim", show_default=True,
              help=f"Comma-separated families made only for dev (unseen in training), from: {', '.join(COPY_FAMILIES)}.")
@click.option("--test-families", default="lpc,psola,neuralvoc", show_default=True,
              help=f"Comma-separated families made only for test (never seen in training or dev), from: {', '.join(COPY_FAMILIES)}.")
@click.option("--cloner/--no-cloner", default=True, show_default=True,
              help="Add the cloner family (needs asterisk-core-sounds-en; skipped with a note when absent).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def command(out_dir: Path, librispeech: Path, asterisk: Path, extra_single: tuple[Path, ...],
            joined_voices: tuple[Path, ...], train_families: str,
            dev_only_families: str, test_families: str, cloner: bool, seed: int, quiet: bool) -> None:
    """Build the self-play corpus in OUT (python -m eval.selfplay -o OUT)."""
    config = SelfplayConfig(librispeech=librispeech, asterisk=asterisk, extra_single=tuple(extra_single),
                            joined_voices=tuple(joined_voices),
                            train_families=_names(train_families), dev_only_families=_names(dev_only_families),
                            test_families=_names(test_families))
    try:
        # the names are checked before the cloner is enrolled or anything is written
        family_splits(config, {"cloner": "test"} if cloner else None)
        # The cloner's throw-away home (keys, consent, voice) never lands in the corpus.
        with tempfile.TemporaryDirectory(prefix="vg-selfplay-cloner-") as work:
            extra = cloner_families(Path(work), seed=seed, quiet=quiet) if cloner else {}
            manifest = build(out_dir, seed=seed, config=config, extra_families=extra, quiet=quiet)
    except GuardError as exc:
        raise click.ClickException(str(exc)) from None
    if not quiet:
        click.echo(f"wrote {manifest}", err=True)


if __name__ == "__main__":  # pragma: no cover
    command()
