"""What `voiceguard bench watermark` measures on a set of clips, attack by attack: :func:`evaluate`.

For every attack of :mod:`eval.attacks`: exact-payload rate and bit accuracy on whole clips
(10 s by default), presence TPR in a random 3 s window and payload rate in a random 5 s
window of the marked audio (inside the unmarked padding of a splice), and presence TPR over
every 3 s window at :data:`EVERY_STEP_S` steps (8 per 10 s clip: a tighter estimate than
one window per clip, drawing nothing from the seeded generator); on unmarked audio
(3 s windows of the clean clips, noise, tones, chirps and music-like notes) and with a
wrong key: false detections. Presence is also reported over the 3 s windows that are
mostly speech (:data:`SPEECH_SHARE` of their 30 ms frames are speech to WebRTC's voice
activity detector, :mod:`eval.speech_activity`, judged on the marked clip before the
attack, or on the attacked one for attacks that change the length): nothing is marked in
silence, so a window that is half pause carries about half a window of mark. Quality of
the marked clips (SNR, PESQ-wb, STOI) and embed/verify speed in x real time on one thread
(medians of CPU time).
Localization: a 2 s and a 3 s piece of each marked clip pasted into the next (unmarked)
clip; the IoU of the segments found with the true span.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from eval.watermark_clips import RATE, other_signals
from guard.cliutil import progress
from guard.errors import WatermarkError

SPEECH_SHARE = 0.8
EVERY_STEP_S = 1  # presence is also read in every 3 s window at this step (seconds)


def _crop(y: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
    start = _window_start(y.shape[0], seconds, rng)
    return y[start:start + int(seconds * RATE)]


def _window_start(n_samples: int, seconds: float, rng: np.random.Generator) -> int:
    """Random start of a ``seconds`` window in ``n_samples`` (0 when the clip is no longer)."""
    n = int(seconds * RATE)
    return int(rng.integers(0, n_samples - n + 1)) if n_samples > n else 0


def _marked_part(attack: str, z: np.ndarray) -> np.ndarray:
    """The part of attacked clip ``z`` that holds marked audio (a splice pads it with unmarked speech).

    The 3 s and 5 s windows are cut from this part, so that their rates are rates on marked
    audio; the whole-clip payload is still read from all of ``z``.
    """
    from eval.attacks import ATTACKS

    pad_s = ATTACKS[attack].params.get("pad_s")
    if pad_s is None:
        return z
    pad = int(round(float(pad_s) * RATE))
    return z[pad:z.shape[0] - pad]


def evaluate(clips: list[tuple[str, np.ndarray]], *, attacks: list[str], fpr_windows: int, seed: int,
             silent: bool, speed_search: bool = False) -> dict:
    """Run the whole benchmark on ``clips`` (16 kHz); see the module docstring for what is measured.

    ``speed_search`` makes every verification, false-alarm checks included, search playback
    speeds (``guard.watermark.verify(speed_search=True)``).
    """
    from functools import partial

    from threadpoolctl import threadpool_limits

    from eval.attacks import HARD_ATTACKS, MODERATE_ATTACKS, apply_attack
    from eval.quality import bit_accuracy, pesq_wb, snr_db, stoi
    from eval.speech_activity import speech_frames, speech_share
    from guard.watermark import embed
    from guard.watermark import verify as plain_verify

    verify = partial(plain_verify, speed_search=speed_search)

    rng = np.random.default_rng(seed)
    key, wrong_key = rng.bytes(32), rng.bytes(32)
    per_attack = {a: {"payload": [], "bits": [], "detect": [], "presence_3s": [], "speech_3s": [], "payload_5s": [],
                      "every_3s": [], "every_speech_3s": []} for a in attacks}
    quality = {"snr_db": [], "pesq_wb": [], "stoi": []}
    speed = {"embed": [], "verify": []}
    false = {"windows": 0, "presence": 0, "payload": 0, "wrong_key_clips": 0, "wrong_key_detections": 0}
    localization: dict[float, list[float]] = {2.0: [], 3.0: []}
    speech_windows = int(np.ceil(0.8 * fpr_windows / max(1, len(clips))))
    with threadpool_limits(limits=1):
        for i, (name, y) in enumerate(progress(clips, silent=silent, desc="watermark bench")):
            payload = int(rng.integers(0, 1 << 32))
            # CPU time of this process (one thread): fair on a shared machine, unlike wall time
            t0 = time.process_time()
            try:
                marked = embed(y, sample_rate=RATE, payload=payload, key=key)
            except WatermarkError as exc:
                raise WatermarkError(f"clip {name}: {exc}") from None
            t1 = time.process_time()
            verify(marked, sample_rate=RATE, keys=[key])
            t2 = time.process_time()
            duration_s = y.shape[0] / RATE
            speed["embed"].append(duration_s / max(t1 - t0, 1e-6))
            speed["verify"].append(duration_s / (t2 - t1))
            marked_speech = speech_frames(marked)
            quality["snr_db"].append(snr_db(y, marked, sample_rate=RATE))
            quality["pesq_wb"].append(pesq_wb(y, marked, sample_rate=RATE))
            quality["stoi"].append(stoi(y, marked, sample_rate=RATE))
            for attack in attacks:
                z = apply_attack(attack, marked, sample_rate=RATE, seed=seed + i)
                v = verify(z, sample_rate=RATE, keys=[key])
                r = per_attack[attack]
                r["payload"].append(v.payload == payload)
                r["bits"].append(bit_accuracy(payload, v.raw_payload))
                r["detect"].append(v.detected)
                inside = _marked_part(attack, z)
                start = _window_start(inside.shape[0], 3.0, rng)
                window = inside[start:start + 3 * RATE]
                r["presence_3s"].append(verify(window, sample_rate=RATE, keys=[key]).detected)
                # speech is judged before the attack where the attacked audio is aligned with
                # the marked clip (crops, speed and tempo changes are not: judged after)
                frames = marked_speech if inside.shape[0] == marked.shape[0] else speech_frames(inside)
                r["speech_3s"].append(speech_share(frames, start, 3 * RATE) >= SPEECH_SHARE)
                for at in range(0, inside.shape[0] - 3 * RATE + 1, EVERY_STEP_S * RATE):
                    r["every_3s"].append(verify(inside[at:at + 3 * RATE], sample_rate=RATE, keys=[key]).detected)
                    r["every_speech_3s"].append(speech_share(frames, at, 3 * RATE) >= SPEECH_SHARE)
                if inside.shape[0] >= 5 * RATE:  # a shorter marked part has no 5 s window: n/a, not "5 s"
                    r["payload_5s"].append(verify(_crop(inside, 5.0, rng), sample_rate=RATE, keys=[key]).payload == payload)
            for _ in range(speech_windows):
                v = verify(_crop(y, 3.0, rng), sample_rate=RATE, keys=[key])
                false["windows"] += 1
                false["presence"] += v.detected
                false["payload"] += v.payload is not None
            host = clips[(i + 1) % len(clips)][1]
            for piece_s in (2.0, 3.0):
                iou = _piece_iou(marked, host, piece_s, rng, key, speed_search=speed_search)
                if iou is not None:
                    localization[piece_s].append(iou)
            v = verify(marked, sample_rate=RATE, keys=[wrong_key])
            false["wrong_key_clips"] += 1
            false["wrong_key_detections"] += v.detected or v.payload is not None
        for w in other_signals(max(0, fpr_windows - false["windows"]), seed=seed + 1):
            v = verify(w, sample_rate=RATE, keys=[key])
            false["windows"] += 1
            false["presence"] += v.detected
            false["payload"] += v.payload is not None

    def stat(xs: list[float]) -> dict:
        return {"mean": round(float(np.mean(xs)), 4), "min": round(float(np.min(xs)), 4),
                "p05": round(float(np.percentile(xs, 5)), 4)} if xs else {}

    def group(name: str) -> str:
        return "moderate" if name in MODERATE_ATTACKS else "hard" if name in HARD_ATTACKS else "other"

    return {
        "n_clips": len(clips),
        "clip_s": round(float(np.mean([y.shape[0] for _, y in clips])) / RATE, 2) if clips else 0.0,
        "seed": seed,
        "speed_search": speed_search,
        "quality": {k: stat(v) for k, v in quality.items()},
        "speed_x_realtime": {k: round(statistics.median(v), 1) for k, v in speed.items() if v},
        "attacks": {a: {"set": group(a),
                        "payload_rate": round(float(np.mean(r["payload"])), 4),
                        "bit_accuracy": round(float(np.mean(r["bits"])), 4),
                        "detect_tpr": round(float(np.mean(r["detect"])), 4),
                        "presence_tpr_3s": round(float(np.mean(r["presence_3s"])), 4),
                        **_window_rate("speech", _mostly_speech(r["presence_3s"], r["speech_3s"])),
                        **_window_rate("every", r["every_3s"]),
                        **_window_rate("every_speech", _mostly_speech(r["every_3s"], r["every_speech_3s"])),
                        "payload_rate_5s": round(float(np.mean(r["payload_5s"])), 4) if r["payload_5s"] else None,
                        "windows_5s": len(r["payload_5s"])} for a, r in per_attack.items() if r["payload"]},
        "false_alarms": false,
        "localization": {f"{int(k)}s": {"found_rate": round(float(np.mean(np.array(v) > 0)), 4),
                                         "iou_median": round(float(np.median(v)), 4),
                                         "iou_ge_0.8_rate": round(float(np.mean(np.array(v) >= 0.8)), 4)}
                         for k, v in localization.items() if v},
    }


def _mostly_speech(detected: list[bool], speech: list[bool]) -> list[bool]:
    """The outcomes of the windows that are mostly speech."""
    return [d for d, s in zip(detected, speech) if s]


def _window_rate(name: str, detected: list[bool]) -> dict:
    """``presence_tpr_3s_<name>`` (None without windows) and ``windows_3s_<name>``, how many windows there were."""
    return {f"presence_tpr_3s_{name}": round(float(np.mean(detected)), 4) if detected else None,
            f"windows_3s_{name}": len(detected)}


def _piece_iou(marked: np.ndarray, host: np.ndarray, piece_s: float, rng: np.random.Generator, key: bytes, *,
               speed_search: bool = False) -> float | None:
    """IoU of the segments found with a ``piece_s`` piece of ``marked`` pasted into unmarked ``host``.

    0 when the mark is not found; None when the clips are too short for the piece and 1 s
    of unmarked audio on each side.
    """
    from guard.watermark import verify

    n = int(piece_s * RATE)
    if marked.shape[0] < n or host.shape[0] < n + 2 * RATE:
        return None
    src = int(rng.integers(0, marked.shape[0] - n + 1))
    at = int(rng.integers(RATE, host.shape[0] - n - RATE + 1))
    y = host.copy()
    y[at:at + n] = marked[src:src + n]
    v = verify(y, sample_rate=RATE, keys=[key], speed_search=speed_search)
    if not v.detected:
        return 0.0
    t0, t1 = at / RATE, (at + n) / RATE
    inter = sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in v.segments)
    union = (t1 - t0) + sum(b - a for a, b in v.segments) - inter
    return inter / union if union > 0 else 0.0
