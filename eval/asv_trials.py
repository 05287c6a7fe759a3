"""Speaker-verification (ASV) trials for the self-play test split, so that ``bench detect`` can report min t-DCF.

The ASV system is resemblyzer's speaker embedding with cosine scoring (:mod:`guard.speaker`).
For every test speaker with at least two bona fide crops, crop ``-0`` enrolls the speaker;
the speaker's other crops are *target* trials, every other speaker's non-enrollment crops
are *non-target* trials, and spoofs copied from the speaker's non-enrollment crops are
*spoof* trials against that enrollment (a copy of the enrollment crop itself would be an
unfair, near-identical trial). Spoofs that speak in a voice with no test enrollment (the
``cloner`` family speaks as the Asterisk voice, a training speaker) make no ASV trial; they
still count as countermeasure trials in the t-DCF.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from guard.errors import GuardError

_CROP = re.compile(r"^(?P<source>.+-\d+)$")


@dataclass(frozen=True)
class AsvScores:
    """Cosine scores (higher = same speaker) of the three kinds of trial.

    Attributes
    ----------
    target, nontarget, spoof : np.ndarray [shape=(n,)]
    n_speakers : int
        Test speakers enrolled.
    """

    target: np.ndarray
    nontarget: np.ndarray
    spoof: np.ndarray
    n_speakers: int

    def summary(self) -> dict:
        from eval.metrics import compute_eer

        eer, _ = compute_eer(self.nontarget, self.target)
        return {"system": "resemblyzer cosine", "eer": round(float(eer), 5), "n_speakers": self.n_speakers,
                "n_target": int(self.target.size), "n_nontarget": int(self.nontarget.size), "n_spoof": int(self.spoof.size)}


def _source_of(stem: str, attack: str) -> str:
    """The bona fide crop a copy was made from: ``<file>-<k>-<attack>`` -> ``<file>-<k>``."""
    return stem[: -len(attack) - 1] if stem.endswith(f"-{attack}") else stem


def selfplay_asv_scores(clips: Sequence[tuple[object, np.ndarray]], *, sample_rate: int) -> AsvScores | None:
    """ASV trials over decoded self-play test clips (see the module docstring).

    Parameters
    ----------
    clips : sequence of (LabeledFile, np.ndarray [shape=(n,)])
        The test split as ``bench detect`` loads it, audio at ``sample_rate``.
    sample_rate : int > 0

    Returns
    -------
    AsvScores or None
        None when fewer than two speakers have an enrollment and a target trial.
    """
    from guard.speaker import embed_speaker

    def embed(y: np.ndarray) -> np.ndarray | None:
        try:
            return embed_speaker(y, sample_rate=sample_rate)
        except GuardError:  # too little speech in a crop: no trial, never a crash
            return None

    bona: dict[str, dict[str, np.ndarray]] = {}
    for it, y in clips:
        stem = it.path.stem
        if it.label == "bonafide" and _CROP.match(stem):
            e = embed(y)
            if e is not None:
                bona.setdefault(it.speaker, {})[stem] = e
    enrolled = {spk: crops for spk, crops in bona.items() if any(s.endswith("-0") for s in crops) and len(crops) >= 2}
    if len(enrolled) < 2:
        return None
    enroll = {spk: next(e for s, e in crops.items() if s.endswith("-0")) for spk, crops in enrolled.items()}
    target, nontarget, spoof = [], [], []
    for spk, crops in enrolled.items():
        for stem, e in crops.items():
            if stem.endswith("-0"):
                continue
            for other, ref in enroll.items():
                (target if other == spk else nontarget).append(float(np.dot(e, ref)))
    for it, y in clips:
        if it.label != "spoof" or it.speaker not in enroll:
            continue
        source = _source_of(it.path.stem, it.attack)
        if source.endswith("-0"):
            continue
        e = embed(y)
        if e is not None:
            spoof.append(float(np.dot(e, enroll[it.speaker])))
    if not target or not spoof:
        return None
    return AsvScores(np.asarray(target), np.asarray(nontarget), np.asarray(spoof), len(enrolled))
