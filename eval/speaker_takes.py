"""The per-recording speaker check re-measured: 2-5 s takes against a consent statement by the same or another speaker.

:func:`guard.consent.speaker_matches` requires each enrollment recording on its own to reach
:data:`guard.consent.SPEAKER_THRESHOLD_EACH` against the consent statement's embedding. Measured on

- librispeech-sample (real, 16 kHz, one utterance per speaker): the first 6 s of an utterance are
  its speaker's statement and the rest is cut into consecutive takes of 2-5 s (seeded lengths; a tail
  under 2 s is dropped). Genuine trials: each take against its own speaker's statement; impostor
  trials: each take against every other speaker's statement. All pairs are scored: each clip is
  embedded once, so a pair costs one dot product and sampling pairs would only add noise.
- asterisk Allison prompts (real, 8 kHz, one speaker), when installed: statements of at least 20 s
  of prompts joined with 0.3 s gaps (prompts of 1-2 s or over 5 s, in a seeded order); takes are
  the prompts of 2-5 s. Genuine trials: every take against every statement; impostor trials: the
  librispeech takes band-limited to 8 kHz (the same telephone band) against every statement.

A corpus that is not there is skipped and named in ``skipped``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guard.cliutil import progress

RATE = 16000
TELEPHONE_RATE = 8000
STATEMENT_S = 6.0
TAKE_MIN_S = 2.0
TAKE_MAX_S = 5.0
PROMPT_MIN_S = 1.0  # shorter asterisk prompts (single digits, letters) are left out of the statements
PROMPT_GAP_S = 0.3
ALLISON_STATEMENTS = 5
ALLISON_STATEMENT_S = 20.0


@dataclass(frozen=True)
class SpeakerTakes:
    """Embeddings of one statement per speaker and of the speakers' takes.

    Attributes
    ----------
    statements : np.ndarray [shape=(n_speakers, 256)]
        One statement embedding per speaker; row ``k`` is speaker ``k``.
    takes : np.ndarray [shape=(n_takes, 256)]
        Take embeddings.
    take_speaker : np.ndarray [shape=(n_takes,), dtype=int]
        Row of ``statements`` of each take's speaker.
    telephone_takes : np.ndarray [shape=(m, 256)] or None
        The takes band-limited to 8 kHz (those still embeddable), when asked for.
    """

    statements: np.ndarray
    takes: np.ndarray
    take_speaker: np.ndarray
    telephone_takes: np.ndarray | None = None


def embed_clips(clips: Sequence[np.ndarray], *, sample_rate: int, desc: str,
                silent: bool) -> tuple[np.ndarray, list[int]]:
    """Embed each clip that holds enough speech, once.

    Parameters
    ----------
    clips : sequence of np.ndarray [shape=(n,)]
        Mono audio at ``sample_rate``.
    sample_rate : int > 0
        Rate of the clips in Hz.
    desc : str
        Label of the progress bar.
    silent : bool
        No progress bar.

    Returns
    -------
    embeddings : np.ndarray [shape=(k, 256), dtype=float32]
        L2-normalised, one per kept clip.
    kept : list of int
        Index in ``clips`` of each row of ``embeddings``.
    """
    from guard.errors import AudioError
    from guard.speaker import EMBED_DIM, embed_speaker

    rows, kept = [], []
    for i, y in enumerate(progress(clips, silent=silent, desc=desc)):
        try:
            rows.append(embed_speaker(y, sample_rate=sample_rate))
            kept.append(i)
        except AudioError:  # too little speech once silence is trimmed: not a trial
            continue
    return (np.stack(rows) if rows else np.zeros((0, EMBED_DIM), np.float32)), kept


def cut_takes(y: np.ndarray, *, sample_rate: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Consecutive takes of 2-5 s (lengths drawn from ``rng``); a tail under 2 s is dropped.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio.
    sample_rate : int > 0
        Rate of ``y`` in Hz.
    rng : np.random.Generator
        Draws each take's length, uniform in [2, 5) s.

    Returns
    -------
    list of np.ndarray [shape=(m,)]
        Views into ``y``, in order.
    """
    takes, start = [], 0
    min_n = int(TAKE_MIN_S * sample_rate)
    while True:
        n = int(rng.uniform(TAKE_MIN_S, TAKE_MAX_S) * sample_rate)
        if start + n > y.shape[0]:
            if y.shape[0] - start >= min_n:
                takes.append(y[start:])
            return takes
        takes.append(y[start:start + n])
        start += n


def telephone_band(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """``y`` (shape (n,)) through 8 kHz and back to ``sample_rate`` (Hz): the telephone band."""
    from guard.audio import resample

    return resample(resample(y, orig_sr=sample_rate, target_sr=TELEPHONE_RATE), orig_sr=TELEPHONE_RATE,
                    target_sr=sample_rate)


def librispeech_takes(folder: Path, *, max_speakers: int, rng: np.random.Generator, silent: bool,
                      telephone: bool) -> SpeakerTakes | None:
    """Statements (first 6 s) and 2-5 s takes (the rest) of each librispeech-sample speaker.

    Utterances under 8 s (no room for a take) are left out; of the others, a seeded choice of
    ``max_speakers`` when there are more. None when the folder holds no ``*.flac``.
    """
    from guard.audio import load

    files = sorted(folder.glob("*.flac")) if folder.is_dir() else []
    utterances = [y for y in (load(p, sample_rate=RATE, max_duration_s=60) for p in files)
                  if y.shape[0] >= (STATEMENT_S + TAKE_MIN_S) * RATE]
    if len(utterances) > max_speakers:
        utterances = [utterances[i] for i in sorted(rng.choice(len(utterances), size=max_speakers, replace=False))]
    if not utterances:
        return None
    cut = int(STATEMENT_S * RATE)
    statements, kept = embed_clips([y[:cut] for y in utterances], sample_rate=RATE, desc="librispeech statements",
                                   silent=silent)
    clips, speaker = [], []
    for row, i in enumerate(kept):  # takes are cut only for speakers whose statement embedded
        takes = cut_takes(utterances[i][cut:], sample_rate=RATE, rng=rng)
        clips += takes
        speaker += [row] * len(takes)
    takes, kept_takes = embed_clips(clips, sample_rate=RATE, desc="librispeech takes", silent=silent)
    band = None
    if telephone:
        band, _ = embed_clips([telephone_band(clips[i], sample_rate=RATE) for i in kept_takes], sample_rate=RATE,
                              desc="librispeech takes at 8 kHz", silent=silent)
    return SpeakerTakes(statements=statements, takes=takes, take_speaker=np.array(speaker, dtype=int)[kept_takes],
                        telephone_takes=band)


def allison_takes(folder: Path, *, rng: np.random.Generator, silent: bool, statements: int = ALLISON_STATEMENTS,
                  statement_s: float = ALLISON_STATEMENT_S) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Statements (prompts joined) and takes (2-5 s prompts) of the asterisk Allison voice.

    Parameters
    ----------
    folder : Path
        The voice's sound folder (searched recursively; its ``silence/`` set is left out).
    rng : np.random.Generator
        Orders the prompts.
    silent : bool
        No progress bars.
    statements : int > 0
        How many statements to build, from disjoint prompts.
    statement_s : float > 0
        Prompt audio in each statement, at least (s; gaps not counted).

    Returns
    -------
    (statements, takes, prompts) or None
        Embeddings [shape=(k, 256)] of the k <= ``statements`` statements that could be filled and
        [shape=(t, 256)] of the takes, and the number of prompts read; None when the folder holds
        no prompt or too few for one statement.
    """
    from guard.audio import load

    paths = sorted(p for p in folder.rglob("*.wav") if "silence" not in p.relative_to(folder).parts) \
        if folder.is_dir() else []
    prompts = [load(p, sample_rate=TELEPHONE_RATE) for p in paths]
    order = rng.permutation(len(prompts))
    is_take = [TAKE_MIN_S * TELEPHONE_RATE <= prompts[i].shape[0] <= TAKE_MAX_S * TELEPHONE_RATE for i in order]
    takes = [prompts[i] for i, take in zip(order, is_take) if take]
    pool = [prompts[i] for i, take in zip(order, is_take) if not take and prompts[i].shape[0] > PROMPT_MIN_S * TELEPHONE_RATE]
    joined = _join_prompts(pool, count=statements, min_samples=int(statement_s * TELEPHONE_RATE))
    if not joined:
        return None
    statement_embs, _ = embed_clips(joined, sample_rate=TELEPHONE_RATE, desc="allison statements", silent=silent)
    take_embs, _ = embed_clips(takes, sample_rate=TELEPHONE_RATE, desc="allison takes", silent=silent)
    return statement_embs, take_embs, len(prompts)


def _join_prompts(pool: list[np.ndarray], *, count: int, min_samples: int) -> list[np.ndarray]:
    """Up to ``count`` statements, each prompts taken from the end of ``pool`` until they hold
    ``min_samples`` of audio, joined with 0.3 s of silence; a last one left short is dropped."""
    gap = np.zeros(int(PROMPT_GAP_S * TELEPHONE_RATE), np.float32)
    pool, joined = list(pool), []
    while len(joined) < count and pool:
        parts, n = [], 0
        while n < min_samples and pool:
            y = pool.pop()
            parts += [y, gap]
            n += y.shape[0]
        if n >= min_samples:
            joined.append(np.concatenate(parts))
    return joined


def own_and_other_scores(statements: np.ndarray, takes: np.ndarray,
                         take_speaker: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine of each take with its own speaker's statement, and with every other speaker's.

    Parameters
    ----------
    statements : np.ndarray [shape=(s, d)]
        L2-normalised; row ``k`` is speaker ``k``'s.
    takes : np.ndarray [shape=(t, d)]
        L2-normalised.
    take_speaker : np.ndarray [shape=(t,), dtype=int]
        Each take's speaker (a row of ``statements``).

    Returns
    -------
    genuine : np.ndarray [shape=(t,)]
    impostor : np.ndarray [shape=(t * (s - 1),)]
    """
    sims = takes @ statements.T
    own = np.zeros(sims.shape, dtype=bool)
    own[np.arange(len(take_speaker)), take_speaker] = True
    return sims[own], sims[~own]


def genuine_summary(scores: np.ndarray, *, threshold: float) -> dict | None:
    """False refusals of genuine trials: how many score below ``threshold``, and the lowest score."""
    if scores.size == 0:
        return None
    refused = int(np.sum(scores < threshold))
    return {"trials": int(scores.size), "refused": refused, "frr": round(refused / scores.size, 4),
            "lowest": round(float(scores.min()), 4), "median": round(float(np.median(scores)), 4)}


def impostor_summary(scores: np.ndarray, *, threshold: float) -> dict | None:
    """False acceptances of impostor trials: how many score at or above ``threshold``, and the highest score."""
    if scores.size == 0:
        return None
    accepted = int(np.sum(scores >= threshold))
    return {"trials": int(scores.size), "accepted": accepted, "far": round(accepted / scores.size, 4),
            "highest": round(float(scores.max()), 4), "median": round(float(np.median(scores)), 4)}


def measure_per_recording(*, librispeech: Path, asterisk: Path, max_speakers: int, seed: int, silent: bool) -> dict:
    """Genuine refusals and impostor acceptances of single takes at :data:`guard.consent.SPEAKER_THRESHOLD_EACH`.

    Parameters
    ----------
    librispeech : Path
        Folder of librispeech-sample ``*.flac`` (one utterance per speaker).
    asterisk : Path
        The asterisk en_US_f_Allison sound folder.
    max_speakers : int > 0
        Most librispeech speakers (a seeded choice when there are more).
    seed : int >= 0
        Seeds the speaker choice and take lengths (librispeech) and the prompt order (asterisk),
        each corpus from its own ``default_rng(seed)``.
    silent : bool
        No progress bars.

    Returns
    -------
    dict
        ``threshold``, ``seed``, ``statement_s``, ``take_s``, ``librispeech`` and
        ``asterisk_allison`` (None when skipped; see the module doc) and ``skipped`` (reasons).
    """
    import torch

    from guard.consent import SPEAKER_THRESHOLD_EACH

    torch.set_num_threads(1)
    threshold, skipped = SPEAKER_THRESHOLD_EACH, []
    ls = librispeech_takes(librispeech, max_speakers=max_speakers, rng=np.random.default_rng(seed), silent=silent,
                           telephone=asterisk.is_dir())
    if ls is None:
        skipped.append(f"librispeech-sample: no utterance of {STATEMENT_S + TAKE_MIN_S:g} s or more in {librispeech}"
                       if librispeech.is_dir() else f"librispeech-sample: no folder {librispeech}")
    allison = allison_takes(asterisk, rng=np.random.default_rng(seed), silent=silent)
    if allison is None:
        skipped.append(f"asterisk Allison: too few prompts for a statement in {asterisk}"
                       if asterisk.is_dir() else f"asterisk Allison: no folder {asterisk}")
    return {"threshold": threshold, "seed": seed, "statement_s": STATEMENT_S, "take_s": [TAKE_MIN_S, TAKE_MAX_S],
            "librispeech": None if ls is None else _librispeech_row(ls, threshold=threshold),
            "asterisk_allison": None if allison is None else _allison_row(*allison, ls=ls, threshold=threshold),
            "skipped": skipped}


def _librispeech_row(ls: SpeakerTakes, *, threshold: float) -> dict:
    """The librispeech entry: each take against its own speaker's statement and every other speaker's."""
    genuine, impostor = own_and_other_scores(ls.statements, ls.takes, ls.take_speaker)
    return {"corpus": "librispeech-sample", "kind": "real, 16 kHz; statement = first 6 s, takes = the rest",
            "speakers": int(ls.statements.shape[0]), "takes": int(ls.takes.shape[0]),
            "genuine": genuine_summary(genuine, threshold=threshold),
            "impostor": impostor_summary(impostor, threshold=threshold)}


def _allison_row(statements: np.ndarray, takes: np.ndarray, prompts: int, *, ls: SpeakerTakes | None,
                 threshold: float) -> dict:
    """The Allison entry: her takes against her statements; librispeech takes at 8 kHz against them."""
    others = None if ls is None or ls.telephone_takes is None else ls.telephone_takes @ statements.T
    return {"corpus": "asterisk-allison", "kind": "real, 8 kHz; statement = prompts joined, takes = 2-5 s prompts",
            "prompts": prompts, "statements": int(statements.shape[0]), "takes": int(takes.shape[0]),
            "genuine": genuine_summary((takes @ statements.T).ravel(), threshold=threshold),
            "impostor": None if others is None else impostor_summary(others.ravel(), threshold=threshold),
            "impostor_kind": "librispeech takes band-limited to 8 kHz against each statement"}


def table_lines(result: dict) -> list[str]:
    """Lines for people: :func:`measure_per_recording`'s result, one line per corpus and one per skip."""
    head = (f"per-recording speaker check (each take cos >= {result['threshold']:.2f} with the statement; "
            f"seed {result['seed']}):")
    lines = [head]
    for key, unit in (("librispeech", "speakers"), ("asterisk_allison", "statements")):
        row = result[key]
        if row is not None:
            lines.append(f"  {row['corpus']:20s} {row[unit]} {unit}, {row['takes']} takes: {_rates(row)}")
    lines += [f"  skipped {reason}" for reason in result["skipped"]]
    return lines


def _rates(row: dict) -> str:
    g, i = row["genuine"], row["impostor"]
    text = ("no genuine trial" if g is None else
            f"genuine refused {g['refused']}/{g['trials']} ({g['frr']:.2%}), lowest {g['lowest']:.3f}")
    if i is not None:
        text += f"; another speaker's accepted {i['accepted']}/{i['trials']} ({i['far']:.2%}), highest {i['highest']:.3f}"
    return text
