"""Argument checks shared by the payload look-ups and the two record writers (clips and marks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from guard.errors import ProvenanceError
from guard.home import Home
from guard.provenance.records import PAYLOAD_BITS


def _check_payload(payload: object) -> int:
    if isinstance(payload, bool) or not isinstance(payload, (int, np.integer)) or not 0 <= payload < 2**PAYLOAD_BITS:
        raise ProvenanceError(f"payload must be an integer in [0, 2**{PAYLOAD_BITS}), given payload={payload!r}")
    return int(payload)


def _check_target(home: object, payload: object, audio_path: object, *, missing: str) -> tuple[int, Path]:
    """The payload and the path of a record's audio, checked: ProvenanceError on a bad home, payload or file."""
    if not isinstance(home, Home):
        raise ProvenanceError(f"home must be a guard.home.Home (guard.home.open_home(path)), given {type(home).__name__}")
    payload = _check_payload(payload)
    path = Path(str(audio_path))
    if not path.is_file():
        raise ProvenanceError(f"{path}: {missing}")
    return payload, path
