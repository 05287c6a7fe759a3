"""Score audio of any length: sliding windows -> per-segment probabilities and one file score."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from guard.audio import resample, valid_audio
from guard.detect.io import ModelFile
from guard.detect.voicing import MIN_VOICED_S, voiced_seconds
from guard.errors import DetectError

WINDOW_S = 3.0
HOP_S = 2.0
MIN_DURATION_S = 0.25  # below this there are too few frames to score
RELIABLE_DURATION_S = 1.0  # the shortest crop seen in training
BATCH_WINDOWS = 32


@dataclass
class DetectorResult:
    """What the detector says about one signal.

    Attributes
    ----------
    score : float
        Raw file score (mean of window logits); > 0 leans synthetic.
    p_synthetic : float in [0, 1]
        ``score`` through the logistic calibration fitted on the model's training corpus's dev
        split (equal priors): a probability that the audio is synthetic only for audio like
        that split; elsewhere weak supporting evidence (real recordings can read 1.0).
    segments : list of (start_s, end_s, p_synthetic)
        One per sliding window of :data:`WINDOW_S` seconds every :data:`HOP_S` seconds.
    warning : str or None
        Set when the clip is shorter than the detector was trained on, or holds no voiced
        speech (then the score says nothing: see ``speech``).
    voiced_s : float
        Seconds of voiced speech found (:func:`guard.detect.voicing.voiced_seconds`).
    """

    score: float
    p_synthetic: float
    segments: list[tuple[float, float, float]]
    warning: str | None = None
    voiced_s: float = float("nan")

    @property
    def speech(self) -> bool:
        """Whether the clip holds enough voiced speech for the score to mean something."""
        return not self.voiced_s < MIN_VOICED_S

    def to_dict(self) -> dict:
        return {"score": self.score, "p_synthetic": self.p_synthetic,
                "segments": [list(s) for s in self.segments], "warning": self.warning,
                "voiced_s": round(self.voiced_s, 2), "speech": self.speech}


def window_starts(n_samples: int, *, window: int, hop: int) -> list[int]:
    """Window start samples covering ``n_samples``; the last window ends at the signal's end."""
    if n_samples <= window:
        return [0]
    starts = list(range(0, n_samples - window + 1, hop))
    if starts[-1] + window < n_samples:
        starts.append(n_samples - window)
    return starts


class Detector:
    """A loaded detector; build it with :func:`guard.detect.load_model`.

    Scoring uses the calling thread's torch settings; a scan worker sets one thread.
    """

    def __init__(self, model_file: ModelFile) -> None:
        self.model_file = model_file
        self.net = model_file.build()
        self.sample_rate = model_file.features.sample_rate
        self.calibration = model_file.calibration

    @property
    def meta(self) -> dict:
        return self.model_file.meta

    def logits(self, y: np.ndarray) -> tuple[np.ndarray, list[int], int]:
        """Window logits of ``y`` at the model rate: (logits, window starts, window length)."""
        window = int(WINDOW_S * self.sample_rate)
        starts = window_starts(y.shape[0], window=window, hop=int(HOP_S * self.sample_rate))
        out = []
        with torch.inference_mode():
            if len(starts) == 1:
                out.append(self.net.forward_audio(torch.from_numpy(y[None, :window])))
            else:
                frames = np.stack([y[s:s + window] for s in starts])
                for i in range(0, len(starts), BATCH_WINDOWS):
                    out.append(self.net.forward_audio(torch.from_numpy(frames[i:i + BATCH_WINDOWS])))
        return torch.cat(out).numpy().astype(np.float64), starts, min(window, y.shape[0])

    def score(self, y: np.ndarray, *, sample_rate: int, path: str | os.PathLike[str] | None = None) -> DetectorResult:
        """Score a mono signal of any length.

        Parameters
        ----------
        y : np.ndarray [shape=(n,)]
            Mono audio; resampled to the model rate when ``sample_rate`` differs.
        sample_rate : int > 0
            Rate of ``y`` in Hz.
        path : path-like, optional
            File ``y`` came from, when the caller knows it: errors then start with it.

        Returns
        -------
        DetectorResult
            With ``warning`` set for clips under :data:`RELIABLE_DURATION_S` and for clips
            without voiced speech (``speech`` False).

        Raises
        ------
        AudioError
            ``y`` is not mono float audio or holds NaN/Inf.
        DetectError
            The clip is shorter than :data:`MIN_DURATION_S` (the message names the minimum),
            or the model gives NaN or infinite output (its weights are damaged).
        """
        where = f"{os.fspath(path)}: " if path is not None else ""
        y = valid_audio(y, sample_rate=sample_rate)
        duration_s = y.shape[0] / sample_rate
        if duration_s < MIN_DURATION_S:
            raise DetectError(f"{where}clip is {duration_s:.3f} s long; the detector needs at least {MIN_DURATION_S} s")
        y = resample(y, orig_sr=sample_rate, target_sr=self.sample_rate)
        logits, starts, window = self.logits(y)
        score = float(np.mean(logits))
        p_windows = np.atleast_1d(self.calibration(logits))
        p_file = float(self.calibration(score))
        if not (np.all(np.isfinite(logits)) and np.all(np.isfinite(p_windows)) and np.isfinite(p_file)):
            raise DetectError(f"{where}the detector model gave a NaN or infinite score (its weights or calibration "
                              "are damaged); retrain it or use another --model")
        segments = [(round(s / self.sample_rate, 3), round((s + window) / self.sample_rate, 3), float(p))
                    for s, p in zip(starts, p_windows)]
        warnings = []
        voiced_s = voiced_seconds(y, sample_rate=self.sample_rate)
        if voiced_s < MIN_VOICED_S:
            warnings.append(f"no voiced speech found ({voiced_s:.2f} s voiced): the detector was trained on speech, "
                            "so its score says nothing about this audio")
        if duration_s < RELIABLE_DURATION_S:
            warnings.append(f"clip is {duration_s:.2f} s long, under the {RELIABLE_DURATION_S} s the detector was "
                            "trained on; the score is less reliable")
        return DetectorResult(score, p_file, segments, "; ".join(warnings) or None, voiced_s)
