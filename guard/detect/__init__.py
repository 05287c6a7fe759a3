"""Deepfake-speech detection: a small CNN over log-mel or LFCC features, scored in sliding windows.

>>> from guard.detect import load_model          # doctest: +SKIP
>>> load_model().score(y, sample_rate=16000)      # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from guard.detect.scoring import Detector, DetectorResult

DEFAULT_MODEL_PATH = Path(__file__).with_name("default_model.pt")

__all__ = ["DEFAULT_MODEL_PATH", "Detector", "DetectorResult", "load_model"]


def load_model(path: str | os.PathLike[str] | None = None) -> Detector:
    """Load a detector model file; ``None`` loads the default model shipped in the package.

    Raises
    ------
    DetectError
        Missing file, another format or version, or damaged weights.
    """
    from guard.detect.io import load_model_file

    return Detector(load_model_file(DEFAULT_MODEL_PATH if path is None else Path(path)))
