"""Scan suspicious audio: one file -> watermark, provenance, C2PA manifest, detector -> verdict.

Each file is decoded once at :data:`~guard.scan_blocks.SCAN_RATE` and the same samples go to
the watermark verifier and the deepfake detector. The verdict follows a fixed order of evidence:

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

A file's C2PA manifest never changes the verdict (:mod:`guard.scan_provenance`).

A part that cannot run (no home, so no watermark key, no ledger and no CA to check a
manifest's signer; no detector model) is reported as not checked, with the reason, and never
counted as evidence either way. Many
files are scanned by a process pool whose workers each build one :class:`Scanner` (and so
load the detector once) in an initializer.

The parts live beside this module: the watermark and the detector, over blocks of a long file,
in :mod:`guard.scan_blocks`; the ledger lookup and the manifest in :mod:`guard.scan_provenance`;
the row in :mod:`guard.scan_result`; expanding folders into files in
:mod:`guard.scan_collect`; the report's spectrogram in :mod:`guard.scan_overview`.

Examples
--------
>>> scan_file("voicemail.m4a", home_dir="~/.voiceguard").verdict  # doctest: +SKIP
'watermarked'
>>> scanner = Scanner(ScanConfig(home_dir=None, threshold=0.7))  # doctest: +SKIP
>>> from guard.scan_collect import collect  # doctest: +SKIP
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard import progress
from guard.audio import DEFAULT_MAX_DURATION_S, load
from guard.errors import GuardError, ParameterError, TooLongError
from guard.home import Home, open_home
from guard.scan_blocks import BLOCK_S, SCAN_RATE, BlockChecks, block_bounds
from guard.scan_manifest import manifest_conflicts, manifest_text
from guard.scan_overview import overview
from guard.scan_provenance import ProvenanceChecks
from guard.scan_result import ScanResult, _error_row, _one_line, unreadable_text
from guard.scan_verdict import decide, unmarked_synthetic_part

DEFAULT_THRESHOLD = 0.5
VERDICTS = ("watermarked", "likely-synthetic", "no-evidence", "error")


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
        work's memory, but the decoded file is held whole at :data:`SCAN_RATE`: about 230 MB per
        hour (peak RSS measured 0.65 GB for 10 min of speech, 0.85 GB for 60 min).
    """

    home_dir: str | None = None
    model_path: str | None = None
    threshold: float = DEFAULT_THRESHOLD
    keep_overview: bool = False
    speed_search: bool = False
    show_progress: bool = False
    block_s: float = BLOCK_S
    max_duration_s: float = DEFAULT_MAX_DURATION_S


class Scanner(BlockChecks, ProvenanceChecks):
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
            return _error_row(name, _one_line(exc) + "; or raise the limit with --max-duration SECONDS (about 230 MB of "
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
