"""Do the enrollment transcripts say what their recordings say? DTW alignment costs against the TTS rendering.

Each transcript's TTS rendering is aligned with its recording (refined through a linear
conversion, so two different voices still align); a transcript far costlier than the rest is
named, and a set that aligns hardly better than the same recordings paired with other files'
transcripts (every transcript wrong, or all shifted by a renaming) is refused as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cloner import align, world
from cloner.convert import Normaliser
from guard.errors import CloneError

# A recording whose refined alignment costs this many times the median is not its transcript.
MISMATCH_RATIO = 1.4
MIN_FILES_FOR_MISMATCH = 4
# Nor is a folder whose transcripts align, at the median, hardly better than the same recordings
# paired with other files' transcripts (offsets 1-3): every transcript is then wrong, or shifted
# by a renaming, and the median is high too. Measured (median own cost / median shuffled cost, 30
# script sentences): synthetic personas, right transcripts 0.52; half of them shifted 0.76; all
# shifted by one 0.975-0.977. Real speech (40 asterisk prompts, 8 kHz, right transcripts) 0.937-0.944,
# shifted 0.972-0.982. An absolute cost limit does not work: real speech costs 0.98-1.15 per frame
# with the right transcripts, more than synthetic speech with wrong ones (0.94-1.17; right 0.47-0.73).
MAX_SHUFFLED_RATIO = 0.96
SHUFFLE_OFFSETS = (1, 2, 3)
MAX_NAMED = 5
REFINE_PASSES = 2
_CONTEXT = (-2, -1, 0, 1, 2)


def _context(mcep: np.ndarray, norm: Normaliser) -> np.ndarray:
    z = norm.apply(mcep).astype(np.float64)
    idx = np.arange(z.shape[0])
    cols = [z[np.clip(idx + k, 0, z.shape[0] - 1)] for k in _CONTEXT]
    return np.concatenate(cols + [np.ones((z.shape[0], 1))], axis=1)


def refine(source: Sequence[world.WorldFeatures], target: Sequence[world.WorldFeatures]) -> tuple[list[align.Alignment], list[np.ndarray]]:
    """Align each source/target pair, then re-align after a ridge-regression conversion.

    Plain DTW between two different voices is poor (their cepstra differ everywhere); a
    linear map with +-2 frames of context, fitted on the current alignment, moves the
    source toward the target so the next DTW pass matches phones, not voice quality.

    Returns
    -------
    alignments : list of Alignment
    mapped : list of np.ndarray
        The converted source cepstra the last pass aligned.
    """
    alignments = [align.align(s.mcep, t.mcep) for s, t in zip(source, target)]
    norm = Normaliser.fit(np.concatenate([s.mcep for s in source]))
    contexts = [_context(s.mcep, norm) for s in source]
    mapped = [s.mcep for s in source]
    for _ in range(REFINE_PASSES):
        x = np.concatenate(contexts)
        y = np.concatenate([t.mcep[a.source_to_target] for t, a in zip(target, alignments)])
        w = np.linalg.solve(x.T @ x + np.eye(x.shape[1]), x.T @ y)
        mapped = [c @ w for c in contexts]
        alignments = [align.align(m, t.mcep) for m, t in zip(mapped, target)]
    return alignments, mapped


def refine_alignments(source: Sequence[world.WorldFeatures], target: Sequence[world.WorldFeatures]) -> list[align.Alignment]:
    """The alignments of :func:`refine`."""
    return refine(source, target)[0]


def shuffled_ratio(mapped: Sequence[np.ndarray], target: Sequence[world.WorldFeatures],
                   alignments: Sequence[align.Alignment]) -> float:
    """Median alignment cost of the given pairs over that of recordings paired with other transcripts.

    Near 0.5 when the transcripts are right (synthetic speech; about 0.94 for real telephone
    speech), near 1 when they are all wrong. Needs at least 2 pairs.
    """
    n = len(alignments)
    own = float(np.median([a.cost_per_frame for a in alignments]))
    cross = [align.align(mapped[(i + k) % n], target[i].mcep).cost_per_frame
             for k in SHUFFLE_OFFSETS if k % n for i in range(n)]
    return own / max(float(np.median(cross)), 1e-9)


def mismatched_transcripts(names: Sequence[str], alignments: Sequence[align.Alignment]) -> list[str]:
    """Names whose alignment cost is over :data:`MISMATCH_RATIO` x the median (needs >= 4 files), worst first."""
    if len(alignments) < MIN_FILES_FOR_MISMATCH:
        return []
    costs = np.array([a.cost_per_frame for a in alignments])
    median = float(np.median(costs))
    bad = [i for i, c in enumerate(costs) if c > MISMATCH_RATIO * median]
    return [f"{names[i]} (cost {costs[i]:.2f}, median {median:.2f})" for i in sorted(bad, key=lambda i: -costs[i])]


def check_transcripts(names: Sequence[str], mapped: Sequence[np.ndarray], target: Sequence[world.WorldFeatures],
                      alignments: Sequence[align.Alignment]) -> None:
    """Refuse transcripts that do not match their recordings, naming the worst files.

    Raises
    ------
    CloneError
        Some transcripts cost far more than the rest (:func:`mismatched_transcripts`), or, with
        at least :data:`MIN_FILES_FOR_MISMATCH` files, the set aligns hardly better than
        shuffled (:func:`shuffled_ratio` over :data:`MAX_SHUFFLED_RATIO`).
    """
    bad = mismatched_transcripts(names, alignments)
    if bad:
        more = f" and {len(bad) - MAX_NAMED} more" if len(bad) > MAX_NAMED else ""
        raise CloneError(f"transcript(s) do not match their audio (alignment cost far above the rest): "
                         f"{', '.join(bad[:MAX_NAMED])}{more}")
    if len(alignments) < MIN_FILES_FOR_MISMATCH:
        return
    ratio = shuffled_ratio(mapped, target, alignments)
    if ratio > MAX_SHUFFLED_RATIO:
        costs = [a.cost_per_frame for a in alignments]
        worst = sorted(range(len(names)), key=lambda i: -costs[i])[:MAX_NAMED]
        raise CloneError(f"the transcripts do not match their audio: they align hardly better than other files' "
                         f"transcripts (cost ratio {ratio:.2f} > {MAX_SHUFFLED_RATIO:g}); worst: "
                         f"{', '.join(f'{names[i]} (cost {costs[i]:.2f})' for i in worst)}; check that each .txt "
                         f"holds the words of its own recording (not the next file's)")
