"""Scan suspicious audio: one file -> watermark, provenance, C2PA manifest, detector -> verdict.

Each file is decoded once at :data:`SCAN_RATE` and the same samples go to the watermark
verifier and the deepfake detector. The verdict follows a fixed order of evidence:

1. our watermark is present -> ``"watermarked"`` (with the provenance record when the
   payload survived and the home's ledger knows it; "presence only" when it did not). A
   payload the ledger logged for a mark made with ``voiceguard watermark embed`` (any audio,
   a real person's recording too), not for a generated clip, is said to be one
   (``provenance.kind`` ``"mark"``, ``"clip"`` for a clip). The reason also says where the mark
   is when it covers only part of the file, and names a run of detector windows outside every
   marked segment that scores likely synthetic (``detector.synthetic_part``): a mark vouches
   for the audio it is in, not for the rest of the file;
2. else the detector's ``p_synthetic >= threshold`` -> ``"likely-synthetic"``;
3. else ``"no-evidence"``; a file that cannot be decoded -> ``"error"``.

A file's C2PA manifest never changes the verdict, and never lends it credibility: anyone can
sign a manifest that claims a consented voice. It is read once, with the home's own CA
(``keys/c2pa-ca.pem``) as the only trust anchor, and the reason says whether it is valid,
whether it was signed by this home or by another signer, and where its claims contradict the
watermark payload that was read or the ledger record found for it (``manifest.conflicts``).

A part that cannot run (no home, so no watermark key, no ledger and no CA to check a
manifest's signer; no detector model) is reported as not checked, with the reason, and never
counted as evidence either way. Many
files are scanned by a process pool whose workers each build one :class:`Scanner` (and so
load the detector once) in an initializer.

A file longer than :data:`BLOCK_S` (plus one detector window) is checked in blocks
(:func:`block_bounds`), so that memory stays bounded: the verifier and the detector hold
several times their input in temporaries (a 1 h file took 3.4 GB at once, 0.8 GB in
blocks). The detector's windows of the blocks are exactly those of the whole file;
the watermark blocks overlap by :data:`BLOCK_OVERLAP_S` and their findings are joined
(:func:`guard.watermark.result.join`). Shorter files, nearly every clip, are checked whole, as before.

Examples
--------
>>> scan_file("voicemail.m4a", home_dir="~/.voiceguard").verdict  # doctest: +SKIP
'watermarked'
>>> scanner = Scanner(ScanConfig(home_dir=None, threshold=0.7))  # doctest: +SKIP
>>> files, skipped = collect(["inbox/"])  # doctest: +SKIP
>>> rows = [r.to_dict() for r in scan_files(files, scanner=scanner, workers=2)]  # doctest: +SKIP
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from guard import progress
from guard.audio import DEFAULT_MAX_DURATION_S, is_audio_path, load
from guard.errors import GuardError, ParameterError, TooLongError
from guard.home import Home, open_home
from guard.plaintext import printable
from guard.scan_manifest import manifest_conflicts, manifest_text
from guard.scan_verdict import as_datetime, decide, unmarked_synthetic_part

SCAN_RATE = 16000
DEFAULT_THRESHOLD = 0.5
# A longer file is checked in blocks of this many seconds (a whole number of detector hops).
# Whole, the echo search and the voicing measure each take about 35 MB per minute of audio
# (2 GB an hour). Peak RSS of a 1 h scan: blocks of 300 s 0.94 GB, 180 s 0.90 GB, 120 s
# 0.82 GB, near the floor of decoding itself (the model, and the samples twice while they are
# joined: 0.77 GB). Clips of up to 2 minutes, nearly all, are checked whole, as before.
BLOCK_S = 120.0
# Each watermark block also reads this much of the block before it (besides the detector's
# window overlap), so that every piece of up to 10 s, about what a payload needs, lies whole
# in one block.
BLOCK_OVERLAP_S = 10.0
VERDICTS = ("watermarked", "likely-synthetic", "no-evidence", "error")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _printable_values(obj: Any) -> Any:
    """``obj`` with :func:`printable` applied to every string in it (dicts and lists walked)."""
    if isinstance(obj, str):
        return printable(obj)
    if isinstance(obj, dict):
        return {k: _printable_values(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_printable_values(v) for v in obj]
    return obj


def not_checked(part: str, why: str) -> dict:
    """The section of a part that did not run: all values null, ``reason`` says why."""
    if part == "watermark":
        return {"detected": None, "payload": None, "p_value": None, "segments": [], "reason": why, "speed": None}
    return {"score": None, "p_synthetic": None, "segments": [], "warning": why}


@dataclass
class Overview:
    """A small log-power spectrogram of a scanned file, for the report.

    Attributes
    ----------
    image_db : np.ndarray [shape=(n_bands, n_frames), dtype=float16]
        Power in dB (max 0), bands linear from 0 Hz to ``max_freq_hz``, frames in time order.
    duration_s : float >= 0
    max_freq_hz : float > 0
    """

    image_db: np.ndarray
    duration_s: float
    max_freq_hz: float


def overview(y: np.ndarray, *, sample_rate: int, n_bands: int = 128, max_frames: int = 600) -> Overview:
    """Compute an :class:`Overview` (at most ``max_frames`` frames, ``n_bands`` bands).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sample_rate : int > 0
        Rate of ``y`` in Hz.
    """
    n_fft = 512
    duration_s = y.shape[0] / sample_rate
    hop = max(128, int(np.ceil(max(y.shape[0] - n_fft, 1) / max_frames)))
    y32 = y if y.dtype == np.float32 else y.astype(np.float32)
    # only the frames are computed: no copy of a long ``y`` (230 MB an hour)
    padded = y32 if y32.shape[0] >= n_fft else np.pad(y32, (0, n_fft - y32.shape[0]))
    starts = np.arange(0, padded.shape[0] - n_fft + 1, hop)
    frames = padded[starts[:, None] + np.arange(n_fft)[None, :]] * np.hanning(n_fft).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, axis=1)).T ** 2  # (n_fft // 2 + 1, n_frames)
    usable = power[: n_fft // 2]
    bands = usable.reshape(n_bands, -1, usable.shape[1]).mean(axis=1) if (n_fft // 2) % n_bands == 0 else usable
    db = 10 * np.log10(bands + 1e-12)
    db = np.maximum(db - db.max(), -90.0)
    return Overview(db.astype(np.float16), duration_s, sample_rate / 2)


@dataclass
class ScanResult:
    """What the scan found in one file; :meth:`to_dict` gives the contract's JSON keys."""

    file: str
    verdict: str
    reason: str
    watermark: dict | None = None
    provenance: dict | None = None
    manifest: dict | None = None
    detector: dict | None = None
    duration_s: float | None = None
    error: str | None = None
    overview: Overview | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """The row as JSON-ready values; strings made valid Unicode (:func:`printable`), so a file name
        that is not UTF-8 shows its bytes as ``\\xNN``."""
        return _printable_values({"file": self.file, "verdict": self.verdict, "reason": self.reason,
                "watermark": self.watermark, "provenance": self.provenance, "manifest": self.manifest,
                "detector": self.detector, "duration_s": self.duration_s, "error": self.error})


@dataclass(frozen=True)
class ScanConfig:
    """Everything a worker needs to build its :class:`Scanner` (picklable).

    Attributes
    ----------
    home_dir : str or None
        An initialised home (keys and ledger), or None to scan without one.
    model_path : str or None
        Detector weights; None for the default model of :mod:`guard.detect`.
    threshold : float in [0, 1]
        See :func:`decide`.
    keep_overview : bool
        Keep a small spectrogram per file for the HTML report.
    speed_search : bool
        Also look for the watermark at other playback speeds
        (:data:`guard.watermark.verify.SPEED_FACTORS`; much slower on unmarked files).
    show_progress : bool
        A bar on stderr over the blocks of a file longer than ``block_s`` (off for
        ``--json``, ``-q`` and in pool workers, whose bars would overwrite each other).
    block_s : float > 0
        A longer file (by more than one detector window) is checked in blocks of this many
        seconds, a whole number of detector hops (:func:`block_bounds`).
    max_duration_s : float > 0
        A longer file gets an ``"error"`` row (:func:`guard.audio.load`). The blocks bound the
        work's memory, but the decoded file is held whole: about 58 MB per hour at
        :data:`SCAN_RATE`.
    """

    home_dir: str | None = None
    model_path: str | None = None
    threshold: float = DEFAULT_THRESHOLD
    keep_overview: bool = False
    speed_search: bool = False
    show_progress: bool = False
    block_s: float = BLOCK_S
    max_duration_s: float = DEFAULT_MAX_DURATION_S


class Scanner:
    """Holds what is loaded once (keys, detector) and scans one file at a time."""

    def __init__(self, config: ScanConfig) -> None:
        if not 0.0 <= config.threshold <= 1.0:
            raise ParameterError(f"threshold must be within [0, 1], given threshold={config.threshold}")
        block_bounds(0, sample_rate=SCAN_RATE, block_s=config.block_s)  # checks block_s
        limit = config.max_duration_s
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not (math.isfinite(limit) and limit > 0):
            raise ParameterError(f"max_duration_s must be a finite number of seconds > 0, given max_duration_s={limit!r}")
        self.config = config
        self.notes: list[str] = []  # why a part will not run, for people
        self.home: Home | None = open_home(config.home_dir) if config.home_dir else None
        from guard.watermark.trust import verification_keys

        # the home's own keys, then the keys it trusts (other operators', verification only), by name
        self.keys, self.key_owners = verification_keys(self.home) if self.home else ([], [])
        self.watermark_off = (None if self.home else
                              "no voiceguard home, so no watermark key (pass --home or run `voiceguard init`)")
        if self.watermark_off:
            self.notes.append(f"watermark not checked: {self.watermark_off}")
        self.trust_anchors, self.signer_off = self._load_trust_anchors()
        if self.signer_off and self.home is not None:
            self.notes.append(f"C2PA manifest signers not checked: {self.signer_off}")
        self.detector, self.detector_off = self._load_detector()
        if self.detector_off:
            self.notes.append(f"detector not run: {self.detector_off}")

    def _load_trust_anchors(self) -> tuple[str | None, str | None]:
        """The home's C2PA CA (PEM text) that a manifest's signer must chain to, or None and why not."""
        from cryptography import x509

        from guard.provenance.certs import CA_CERT

        if self.home is None:
            return None, "no voiceguard home"
        path = self.home.keys_dir / CA_CERT
        try:
            pem = path.read_text(encoding="ascii")
            x509.load_pem_x509_certificates(pem.encode("ascii"))
        except FileNotFoundError:
            return None, f"{path} is missing"
        except (OSError, UnicodeError, ValueError) as exc:
            return None, f"{path} is not a readable PEM certificate ({type(exc).__name__})"
        return pem, None

    def _load_detector(self) -> tuple[Any | None, str | None]:
        from guard.detect import load_model

        try:
            return load_model(self.config.model_path), None
        except GuardError as exc:
            if self.config.model_path:  # the user named this model: a bad one is their error
                raise
            return None, f"no default detector model ({_one_line(exc)})"

    def scan(self, path: str | os.PathLike[str]) -> ScanResult:
        """Scan one file; a file that cannot be decoded gives an ``"error"`` row, never raises."""
        name = str(path)
        try:
            y = load(path, sample_rate=SCAN_RATE, max_duration_s=self.config.max_duration_s)
        except OSError as exc:  # a file a folder walk found that this user may not read
            return _error_row(name, unreadable_text(name, exc))
        except TooLongError as exc:  # the limit can be raised
            return _error_row(name, _one_line(exc) + "; or raise the limit with --max-duration SECONDS (about 58 MB of "
                                                     "memory per hour of audio)")
        except GuardError as exc:
            return _error_row(name, _one_line(exc))
        bounds = block_bounds(y.shape[0], sample_rate=SCAN_RATE, block_s=self.config.block_s)
        steps = progress.bar(desc=f"scan {Path(name).name}", total=2 * len(bounds),
                             enabled=self.config.show_progress and len(bounds) > 1)
        try:
            # the detector first: its temporaries (some 200 MB a batch of windows) then do not come on top
            # of the caches the watermark verifier keeps
            detector = self._detect(y, bounds, steps)
            watermark, verification = self._check_watermark(y, bounds, steps)
        finally:
            steps.close()
        provenance = self._lookup(verification) if not watermark.get("key_owner") else None  # theirs: their ledger
        for other in watermark.get("other_marks") or []:  # pieces of other generated clips joined in
            other["key_owner"] = self.key_owners[other["key_index"]]
            other["provenance"] = (self._lookup_payload(int(other["payload"], 16))
                                   if other.get("payload") and other["key_owner"] is None else None)
        manifest = self._manifest(path)
        duration_s = y.shape[0] / SCAN_RATE
        verdict, reason = decide(watermark, provenance, detector, threshold=self.config.threshold,
                                 suggest_speed_search=self._speed_search_may_help(duration_s), duration_s=duration_s)
        part = unmarked_synthetic_part(watermark, detector, threshold=self.config.threshold)
        # [start_s, end_s, max p_synthetic] of the longest run of windows at or over the threshold that
        # overlaps no marked segment, or null: for a watermarked file, what its mark does not vouch for
        detector["synthetic_part"] = None if part is None else [round(v, 3) for v in part[:2]] + [round(part[2], 6)]
        if manifest:
            conflicts = manifest_conflicts(manifest, watermark, provenance)
            manifest["conflicts"] = [detail for _, detail in conflicts]
            reason += manifest_text(manifest, conflicts, signer_off=self.signer_off)
        view = overview(y, sample_rate=SCAN_RATE) if self.config.keep_overview else None
        return ScanResult(name, verdict, reason, watermark, provenance, manifest, detector,
                          round(y.shape[0] / SCAN_RATE, 3), None, view)

    def _speed_search_may_help(self, duration_s: float) -> bool:
        """Whether a file without our mark could still show one with ``--speed-search``: it was not
        used, and the file is long enough to carry a mark (:data:`guard.watermark.verify.MIN_PRESENCE_S`)."""
        from guard.watermark.verify import MIN_PRESENCE_S

        return not self.config.speed_search and self.watermark_off is None and duration_s >= MIN_PRESENCE_S

    def _check_watermark(self, y: np.ndarray, bounds: Sequence[tuple[int, int]], steps: Any) -> tuple[dict, Any]:
        """The watermark section and the :class:`~guard.watermark.result.Verification` (None when not checked).

        ``bounds`` are :func:`block_bounds`; with more than one, each block is read with
        :data:`BLOCK_OVERLAP_S` of the one before and the findings joined. ``steps`` (a
        progress bar) advances once per block.
        """
        from guard.watermark import verify
        from guard.watermark.result import join
        from guard.watermark.verify import MIN_PRESENCE_S, MIN_TRY_S

        if self.watermark_off:
            steps.update(len(bounds))
            return not_checked("watermark", self.watermark_off), None
        if y.shape[0] < MIN_TRY_S * SCAN_RATE:  # too short to look in: not checked, rather than "no watermark"
            return not_checked("watermark", f"clip is {y.shape[0] / SCAN_RATE:.2f} s, under the {MIN_TRY_S:g} s the "
                                            f"mark is looked for in (found reliably from {MIN_PRESENCE_S:g} s)"), None
        overlap = int(BLOCK_OVERLAP_S * SCAN_RATE)
        parts = []
        try:
            for start, stop in bounds:
                first = start if len(bounds) == 1 else max(0, start - overlap)
                parts.append((first / SCAN_RATE, verify(y[first:stop], sample_rate=SCAN_RATE, keys=self.keys,
                                                        speed_search=self.config.speed_search)))
                steps.update(1)
        except GuardError as exc:
            return not_checked("watermark", f"verify failed: {_one_line(exc)}"), None
        v = parts[0][1] if len(parts) == 1 else join(parts, unit="blocks")
        # verify's own JSON keys (DESIGN.md), less the file (the row's) and the key index
        d = v.to_dict()
        section = {k: d[k] for k in ("detected", "payload", "p_value", "segments", "reason", "speed", "other_marks")}
        # whose key found the mark: None for this home's own, else the name a trusted key was added under
        section["key_owner"] = self.key_owners[v.key_index] if v.key_index is not None else None
        return section, v

    def _lookup(self, verification: Any) -> dict | None:
        if verification is None or not verification.detected or verification.payload is None:
            return None
        return self._lookup_payload(int(verification.payload))

    def _lookup_payload(self, payload: int) -> dict | None:
        """The provenance record of ``payload`` with its consent's status then and now (None: no record).

        ``kind`` says what the ledger logged the payload for: ``"clip"`` (a generated clip,
        ``clip.generated``) or ``"mark"`` (audio marked with ``voiceguard watermark embed``,
        ``audio.marked``: no voice, no consent, ``valid`` False); ``seq`` is the record's
        ledger event in both; None when the lookup failed (``error`` says why).
        """
        from guard.consent import get as get_consent
        from guard.provenance import MarkRecord, payload_owner

        if self.home is None:
            return None
        try:
            record = payload_owner(self.home, payload)
        except GuardError as exc:  # e.g. a damaged ledger: say so on this row, keep scanning
            return {"record_id": None, "voice_id": None, "consent_id": None, "created_at": None, "valid": False,
                    "consent_status_at_generation": None, "consent_status_now": None,
                    "error": f"ledger lookup failed: {_one_line(exc)}", "kind": None, "seq": None}
        if record is None:
            return None
        if isinstance(record, MarkRecord):  # audio the home marked: nobody's voice or consent stands behind it
            return {"record_id": record.record_id, "voice_id": None, "consent_id": None,
                    "created_at": record.created_at.isoformat(), "valid": False,
                    "consent_status_at_generation": None, "consent_status_now": None, "kind": "mark",
                    "seq": record.seq}
        rec = record.to_dict()
        created_at = as_datetime(rec.get("created_at"))
        try:
            consent = get_consent(self.home, rec["consent_id"])
            at_generation = consent.status(at=created_at) if created_at else None
            now = consent.status(at=None)
        except GuardError as exc:
            at_generation = now = f"unknown ({_one_line(exc)})"
        return {"record_id": rec.get("record_id"), "voice_id": rec.get("voice_id"),
                "consent_id": rec.get("consent_id"), "created_at": rec.get("created_at"),
                "valid": at_generation == "valid",
                "consent_status_at_generation": at_generation, "consent_status_now": now, "kind": "clip",
                "seq": record.seq}

    def _manifest(self, path: str | os.PathLike[str]) -> dict | None:
        from guard.provenance import read_manifest

        try:
            report = read_manifest(path, trust_anchors=self.trust_anchors)
        except GuardError as exc:
            return {"valid": False, "failures": [_one_line(exc)], "trusted": False,
                    "signer_checked": False}
        return None if report is None else report.to_dict()

    def _detect(self, y: np.ndarray, bounds: Sequence[tuple[int, int]], steps: Any) -> dict:
        """The detector section: one score of the whole file, from :func:`block_bounds`' blocks when more than one.

        The blocks' windows are the whole file's, so the file score (the mean window logit)
        is their count-weighted mean (per-window and file p_synthetic equal the whole file's
        on 10 and 60 min of LibriSpeech). Voiced speech is measured per block, without the
        blocks' overlaps, and so against each block's loudest frame rather than the file's
        (:mod:`guard.detect.voicing`): 13-15 % more voiced seconds there (60 min: 1443 s, not
        1279 s); only its :data:`~guard.detect.voicing.MIN_VOICED_S` minimum affects a
        verdict. ``steps`` (a progress bar) advances once per block.
        """
        from guard.detect.voicing import MIN_VOICED_S, voiced_seconds

        if self.detector is None:
            steps.update(len(bounds))
            return not_checked("detector", self.detector_off or "no detector")
        parts = []
        try:
            for start, stop in bounds:
                parts.append((start / SCAN_RATE, self.detector.score(y[start:stop], sample_rate=SCAN_RATE)))
                steps.update(1)
        except GuardError as exc:
            return not_checked("detector", f"scoring failed: {_one_line(exc)}")
        if len(parts) == 1:
            result = parts[0][1]
            score, p_file, warning, voiced_s, speech = (result.score, result.p_synthetic, result.warning,
                                                        result.voiced_s, result.speech)
        else:
            counts = [len(r.segments) for _, r in parts]
            score = sum(r.score * n for (_, r), n in zip(parts, counts)) / sum(counts)
            p_file = float(self.detector.calibration(score))
            ends = [start for start, _ in bounds[1:]] + [y.shape[0]]
            voiced_s = sum(voiced_seconds(y[start:end], sample_rate=SCAN_RATE) for (start, _), end in zip(bounds, ends))
            speech = not voiced_s < MIN_VOICED_S
            warning = None if speech else (f"no voiced speech found ({voiced_s:.2f} s voiced): the detector was "
                                           "trained on speech, so its score says nothing about this audio")
        segments = [[round(t0 + float(a), 3), round(t0 + float(b), 3), round(float(p), 6)]
                    for t0, r in parts for a, b, p in r.segments]
        return {"score": float(score), "p_synthetic": float(p_file), "segments": segments,
                "warning": warning, "voiced_s": round(voiced_s, 2), "speech": speech}


def block_bounds(n_samples: int, *, sample_rate: int, block_s: float = BLOCK_S) -> list[tuple[int, int]]:
    """[start, stop) samples of the blocks a file is checked in; ``[(0, n_samples)]`` for a short one.

    Block ``i`` starts at ``i * block_s`` and ends one detector window less one hop after
    the next one starts (the last one at the end), so each detector window of the whole
    file (:func:`guard.detect.scoring.window_starts`) lies in exactly one block and starts
    at the same sample there. The last block is longer than one window, so its last window
    is the whole file's last one too. A file of up to ``block_s`` plus one window is one block.

    Parameters
    ----------
    n_samples : int >= 0
    sample_rate : int > 0
        Rate of the samples, Hz.
    block_s : float > 0
        A whole number of detector hops (:data:`guard.detect.scoring.HOP_S`).

    Examples
    --------
    >>> block_bounds(16000 * 700, sample_rate=16000, block_s=300)
    [(0, 4816000), (4800000, 9616000), (9600000, 11200000)]
    """
    from guard.detect.scoring import HOP_S, WINDOW_S

    hop, window = int(HOP_S * sample_rate), int(WINDOW_S * sample_rate)
    block = int(round(block_s * sample_rate)) if isinstance(block_s, (int, float)) and np.isfinite(block_s) else 0
    if block <= 0 or block % hop:
        raise ParameterError(f"block_s must be a positive whole number of {HOP_S:g} s detector hops, "
                             f"given block_s={block_s}")
    k = max(1, -(-(n_samples - window) // block))  # ceil: the last block is longer than one window
    return [(i * block, (i + 1) * block + window - hop if i < k - 1 else n_samples) for i in range(k)]


def scan_file(path: str | os.PathLike[str], *, home_dir: str | os.PathLike[str] | None,
              model_path: str | os.PathLike[str] | None = None, threshold: float = DEFAULT_THRESHOLD) -> ScanResult:
    """Scan one file (builds a :class:`Scanner`; reuse one for many files).

    Parameters
    ----------
    path : path-like
    home_dir : path-like or None
        An initialised home, or None to scan without keys and ledger.
    model_path : path-like or None
        Detector weights; None for the default model.
    threshold : float in [0, 1]
        See :func:`decide`.
    """
    config = ScanConfig(home_dir=None if home_dir is None else str(home_dir),
                        model_path=None if model_path is None else str(model_path), threshold=threshold)
    return Scanner(config).scan(path)


def collect(paths: Sequence[str | os.PathLike[str]], *, warn: Callable[[str], None] | None = None) -> tuple[list[Path], list[Path]]:
    """Expand files and folders (recursively) into audio files to scan and files skipped.

    A path named explicitly is always scanned (a missing or non-audio one gives an error
    row); inside folders only files with an extension of :data:`guard.audio.AUDIO_EXTENSIONS`
    are scanned and the others (links that lead nowhere too) are returned as skipped. Links
    to folders are followed (:func:`guard.walk.walk`), each folder once: a link loop, or a
    second link to a folder, is told to ``warn`` (default: a line on stderr). A folder that
    cannot be read is returned among the files, so that its error row names it. Order: as
    given, folders sorted.
    """
    from guard.walk import walk, warn_stderr

    files: list[Path] = []
    skipped: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        to_scan, to_skip = [p], []
        if p.is_dir():
            found = walk(p)
            for line in found.repeated_lines():
                (warn or warn_stderr)(line)
            audio = {q for q in found.entries if is_audio_path(q) and q.exists()}
            to_scan = sorted([*audio, *(folder for folder, _ in found.unreadable)])
            to_skip = [q for q in found.entries if q not in audio]
        files += [q for q in to_scan if q not in seen]
        skipped += [q for q in to_skip if q not in seen]
        seen.update(to_scan, to_skip)
    return files, skipped


_WORKER: Scanner | None = None


def _init_worker(config: ScanConfig) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle: it stops the pool
    _one_thread()
    _WORKER = Scanner(config)


def _scan_in_worker(path: Path) -> ScanResult:
    if _WORKER is None:
        raise RuntimeError("scan worker used before its initializer ran")
    return _scan_safely(_WORKER, path)


def _scan_safely(scanner: Scanner, path: Path) -> ScanResult:
    try:
        return scanner.scan(path)
    except OSError as exc:  # the file, or one the scan reads for it, could not be read
        return _error_row(str(path), unreadable_text(str(path), exc))
    except Exception as exc:  # noqa: BLE001 - one broken file or part must not end a batch
        return _error_row(str(path), f"{path}: scan failed: {type(exc).__name__}: {_one_line(exc)}")


def _error_row(name: str, message: str) -> ScanResult:
    return ScanResult(name, "error", message, error=message)


def unreadable_text(name: str, exc: OSError) -> str:
    """The one-line reason of a file that could not be read: the file, why, and what to do.

    Parameters
    ----------
    name : str
        The file scanned.
    exc : OSError
        What reading it raised; its ``filename``, when another file's, is named too.

    Examples
    --------
    >>> import errno
    >>> unreadable_text("in/a.ogg", PermissionError(errno.EACCES, "Permission denied", "in/a.ogg"))
    'in/a.ogg: cannot be read (permission denied); make it readable for this user (chmod u+r) and scan it again'
    """
    other = exc.filename is not None and os.fsdecode(exc.filename) != name
    where = f"{name}: reading {os.fsdecode(exc.filename)}" if other else name
    if isinstance(exc, PermissionError):
        return f"{where}: cannot be read (permission denied); make it readable for this user (chmod u+r) and scan it again"
    why = exc.strerror.lower() if exc.strerror else _one_line(exc)
    return f"{where}: cannot be read ({why}); check the file (or copy it off a failing disk) and scan it again"


def _one_thread() -> Callable[[], None]:
    """Limit torch and the BLAS/OpenMP pools to one thread, so a worker uses one core (and
    torch is safe in a forked child); return a function that restores the previous limits."""
    torch = sys.modules.get("torch")
    torch_before = None
    if torch is not None:
        torch_before = torch.get_num_threads()
        torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        blas = None
    else:
        blas = threadpool_limits(limits=1)

    def restore() -> None:
        if torch_before is not None:
            torch.set_num_threads(torch_before)
        if blas is not None:
            blas.restore_original_limits()

    return restore


def scan_files(files: Sequence[Path], *, scanner: Scanner, workers: int) -> Iterator[ScanResult]:
    """Scan files in order, in this process (``workers == 1``) or in a pool of processes.

    Parameters
    ----------
    files : sequence of Path
    scanner : Scanner
        Used as is when ``workers == 1``; its config builds each worker's own scanner.
    workers : int >= 1
        Processes; each loads the detector once and uses one thread (torch and BLAS),
        so ``workers`` is the number of cores used.

    Yields
    ------
    ScanResult, one per file, in the order of ``files``.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers must be an integer >= 1, given workers={workers!r}")
    if workers == 1 or len(files) <= 1:
        restore = _one_thread()
        try:
            for path in files:
                yield _scan_safely(scanner, path)
        finally:
            restore()
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(files)), mp_context=context,
                               initializer=_init_worker, initargs=(scanner.config,))
    finished = False
    try:
        yield from pool.map(_scan_in_worker, files)
        finished = True
    except BrokenProcessPool as exc:
        raise GuardError(f"scan workers stopped unexpectedly ({_one_line(exc)}); retry with --workers 1") from None
    finally:
        # Ctrl-C, an error, or a caller that stopped reading: drop the files not started, wait for none
        # (workers ignore SIGINT, so each ends the one file it holds and exits)
        pool.shutdown(wait=finished, cancel_futures=not finished)
