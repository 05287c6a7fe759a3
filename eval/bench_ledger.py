"""`voiceguard bench ledger`: append rate, audit and proof times of the ledger; EER of the speaker-match check.

Ledger: a fresh home, N appends through the real path (one transaction and one signed tree
head each), then a full audit (tree recomputed, every head's signature checked, every event's
meaning checked). Targets: >= 500 appends/s, audit of 100,000 events <= 30 s.

``--speaker-eer``: the equal-error rate of :func:`guard.consent.speaker_matches`' embedding
comparison (utterance against utterance, cosine similarity), on
- librispeech-sample (real, 16 kHz; one file per speaker, so same-speaker trials compare the
  two halves of one file, which flatters the same-speaker side),
- asterisk Allison prompts (real, 8 kHz, one speaker) against librispeech halves band-limited
  to 8 kHz (different speakers),
- espeak-ng voices (synthetic): same voice on different sentences vs different voices.
With it, the per-recording check (:data:`guard.consent.SPEAKER_THRESHOLD_EACH`) is re-measured on
2-5 s takes against a 6 s statement (eval/speaker_takes.py): genuine takes refused, another
speaker's takes accepted, on librispeech-sample and asterisk Allison (JSON ``speaker_eer.per_recording``).

``--statement-check``: how often the consent statement check (:func:`guard.consent.verdict.statement_refusal`
of :func:`guard.consent.statement.match_statement`) accepts statements spoken by espeak-ng voices
(synthetic) for their own claim, for claims with one field (subject, operator, purposes, day,
month, year) changed, and unrelated speech for any claim. Each statement ends with a fixed
consent code (:data:`STATEMENT_CODES`), claimed with it; its code check itself is measured by
eval/bench_consent_code.py.
"""

from __future__ import annotations

import tempfile
import time
from itertools import combinations
from pathlib import Path

import click
import numpy as np

from eval.speaker_takes import embed_clips, measure_per_recording, table_lines
from guard.cliutil import (
    OutputFolder,
    emit_json,
    json_option,
    progress,
    quiet_option,
    say,
    seed_option,
    to_json,
)

LIBRISPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "librispeech-sample"
ASTERISK = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TEXT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
ESPEAK_VOICES = ("en-us", "en", "en-gb-x-rp", "en-us+f3", "en-us+m3", "en+f2", "en-gb-scotland", "en-029")
ESPEAK_TEXTS = (
    "Please read the following sentence slowly and clearly into the microphone.",
    "The library opens at nine in the morning and closes late on Thursdays.",
    "A gentle breeze carried the smell of rain across the empty field.",
    "Numbers like forty two and seventeen are easy to say but hard to hear.",
)
RATE = 16000
STATEMENT_VOICES = ("en-us", "en", "en-us+f3", "en-gb-x-rp")
STATEMENT_PEOPLE = (("Ada Lovelace", "Example Studio", ("audiobook", "research"), 400),
                    ("Nova", "Example Audiobooks Ltd", ("audiobook", "accessibility"), 365),
                    ("John Smith", "Acme Games", ("game", "dubbing"), 1000))
STATEMENT_CODES = ("471926", "305817", "962340")  # one per person: fixed, so the words read repeat from run to run
UNRELATED = ("The quick brown fox jumps over the lazy dog near the river bank. It was a sunny afternoon "
             "and the birds were singing in the trees.")


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the audit's signature workers)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _load() -> float | None:
    import os

    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _proof_times_ms(led: object, n_events: int, *, repeats: int = 5) -> dict[str, float | None]:
    """Median wall time (ms) of an inclusion proof and a consistency proof from the middle of the log.

    Each proof rehashes every event's text (:meth:`guard.ledger.Ledger.leaf_hashes`), so the
    times grow with the log.
    """
    import statistics

    if n_events < 2:
        return {"inclusion": None, "consistency": None}
    calls = {"inclusion": lambda: led.inclusion_proof(n_events // 2),  # type: ignore[attr-defined]
             "consistency": lambda: led.consistency_proof(n_events // 2)}  # type: ignore[attr-defined]
    times: dict[str, float | None] = {}
    for name, call in calls.items():
        taken = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            call()
            taken.append(time.perf_counter() - t0)
        times[name] = round(1000 * statistics.median(taken), 1)
    return times


def measure_ledger(*, n_events: int, seed: int, silent: bool) -> dict:
    """Append ``n_events`` events to a fresh home and audit them; rates and times measured."""
    from guard.home import init_home
    from guard.ledger import Ledger
    from guard.ledger.audit import audit_home

    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="voiceguard-bench-ledger-") as tmp:
        home, _ = init_home(Path(tmp) / "home")
        with Ledger(home) as led:
            t0 = time.perf_counter()
            for i in progress(range(n_events), silent=silent, desc="appending", total=n_events):
                led.append("clone.refused", {"voice_id": f"v{int(rng.integers(1000))}", "purpose": "game",
                                             "reason": f"bench event {i}"})
            append_s = time.perf_counter() - t0
            proofs_ms = _proof_times_ms(led, n_events)
        t0, c0 = time.perf_counter(), _cpu_s()
        report = audit_home(home)
        audit_s, audit_cpu_s = time.perf_counter() - t0, _cpu_s() - c0
        size_mb = sum(p.stat().st_size for p in home.root.glob("ledger.sqlite*")) / 1e6
    return {"events": n_events, "append_s": round(append_s, 2), "appends_per_s": round(n_events / append_s, 1),
            "audit_s": round(audit_s, 2), "audit_cpu_s": round(audit_cpu_s, 2), "load_average_1min": _load(),
            "audit_ok": report.ok, "database_mb": round(size_mb, 1), "proof_ms_median": proofs_ms,
            "targets": {"appends_per_s": 500, "audit_s_for_100k": 30}}


def eer(same: np.ndarray, different: np.ndarray) -> tuple[float, float]:
    """Equal-error rate and the threshold where false accepts equal false rejects."""
    scores = np.concatenate([same, different])
    labels = np.concatenate([np.ones_like(same), np.zeros_like(different)])
    order = np.argsort(-scores)
    labels, scores = labels[order], scores[order]
    frr = 1 - np.cumsum(labels) / labels.sum()  # accept everything down to this score
    far = np.cumsum(1 - labels) / (1 - labels).sum()
    i = int(np.argmin(np.abs(frr - far)))
    return float((frr[i] + far[i]) / 2), float(scores[i])


def _halves(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mid = y.shape[0] // 2
    return y[:mid], y[mid:]


def _trials(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Same-speaker scores a[i]·b[i], different-speaker scores a[i]·b[j], i != j."""
    sims = a @ b.T
    mask = ~np.eye(len(a), dtype=bool)
    return np.diag(sims), sims[mask]


def _row(name: str, same: np.ndarray, different: np.ndarray, kind: str) -> dict:
    rate, threshold = eer(same, different)
    from guard.consent import SPEAKER_THRESHOLD

    return {"corpus": name, "kind": kind, "same_trials": int(same.size), "different_trials": int(different.size),
            "eer": round(rate, 4), "eer_threshold": round(threshold, 4),
            "far_at_threshold": round(float(np.mean(different >= SPEAKER_THRESHOLD)), 4),
            "frr_at_threshold": round(float(np.mean(same < SPEAKER_THRESHOLD)), 4),
            "same_mean": round(float(same.mean()), 4), "different_mean": round(float(different.mean()), 4)}


def measure_speaker_eer(*, max_speakers: int, max_prompts: int, seed: int, silent: bool) -> dict:
    """EER of utterance-vs-utterance speaker matching on real and synthetic speech (see module doc)."""
    import torch

    from guard.audio import load, resample

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    rows, same_all, diff_all = [], [], []
    libri = sorted(LIBRISPEECH.glob("*.flac"))
    if libri:
        chosen = [libri[i] for i in sorted(rng.choice(len(libri), size=min(max_speakers, len(libri)), replace=False))]
        halves = [_halves(load(p, sample_rate=RATE, max_duration_s=60)[: 20 * RATE]) for p in chosen]
        a, ia = embed_clips([h[0] for h in halves], sample_rate=RATE, desc="librispeech A", silent=silent)
        b, ib = embed_clips([h[1] for h in halves], sample_rate=RATE, desc="librispeech B", silent=silent)
        both = sorted(set(ia) & set(ib))
        same, diff = _trials(a[[ia.index(i) for i in both]], b[[ib.index(i) for i in both]])
        rows.append(_row("librispeech-sample", same, diff, "real, 16 kHz, halves of one file"))
        same_all.append(same)
        diff_all.append(diff)
        prompts = [p for p in sorted(ASTERISK.glob("*.wav"))]
        if prompts:
            ys = [load(p, sample_rate=RATE) for p in prompts]
            ys = [y for y in ys if y.shape[0] > 1.5 * RATE][:max_prompts]
            allison, _ = embed_clips(ys, sample_rate=RATE, desc="asterisk Allison", silent=silent)
            band = [resample(resample(h[1], orig_sr=RATE, target_sr=8000), orig_sr=8000, target_sr=RATE)
                    for h in halves[: len(ys)]]
            others, _ = embed_clips(band, sample_rate=RATE, desc="librispeech at 8 kHz", silent=silent)
            same = np.array([allison[i] @ allison[j] for i, j in combinations(range(len(allison)), 2)])
            diff = (allison @ others.T).ravel()
            rows.append(_row("asterisk-allison vs librispeech@8k", same, diff, "real, 8 kHz telephone band"))
            same_all.append(same)
            diff_all.append(diff)
    from cloner.tts import synthesize

    voices, embs = [], []
    for v in ESPEAK_VOICES:
        try:
            clips = [synthesize(t, voice=v, sample_rate=RATE) for t in ESPEAK_TEXTS]
        except Exception as exc:  # noqa: BLE001 - a voice missing from this espeak build is skipped, and said
            say(f"skipping espeak voice {v}: {exc}", quiet=silent)
            continue
        voices.append(v)
        embs.append(embed_clips(clips, sample_rate=RATE, desc=f"espeak {v}", silent=True)[0])
    same = np.array([e[i] @ e[j] for e in embs for i, j in combinations(range(len(ESPEAK_TEXTS)), 2)])
    diff = np.array([embs[a][i] @ embs[b][j] for a, b in combinations(range(len(embs)), 2)
                     for i in range(len(ESPEAK_TEXTS)) for j in range(len(ESPEAK_TEXTS)) if i != j])
    rows.append(_row(f"espeak-ng ({len(voices)} voices)", same, diff, "synthetic"))
    real = [r for r in rows if r["kind"].startswith("real")]
    pooled = _row("all real speech pooled", np.concatenate(same_all), np.concatenate(diff_all), "real") if real else None
    return {"rows": rows, "pooled_real": pooled}


def _altered_claims(people: list[dict], i: int) -> dict[str, dict]:
    """Person ``i``'s own claim and claims that change one field of it (for the statement check)."""
    import calendar
    from datetime import date, timedelta

    p, other = people[i], people[(i + 1) % len(people)]
    day = p["expires"]

    def moved(year: int, month: int) -> date:  # the same day of another month or year (clamped to its length)
        return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

    return {"own": p, "subject": {**p, "subject": other["subject"]}, "operator": {**p, "operator": other["operator"]},
            "purposes": {**p, "purposes": other["purposes"]}, "day": {**p, "expires": day + timedelta(days=1)},
            "month": {**p, "expires": moved(day.year, day.month % 12 + 1)},
            "year": {**p, "expires": moved(day.year + 1, day.month)}}


def measure_statement_check(*, max_prompts: int, silent: bool) -> dict:
    """How often the statement check accepts a statement (espeak-ng, synthetic) for its own claim,
    for claims with one field changed, and for unrelated speech; plus the recogniser's overall
    match score on real prompts (asterisk) against their own and another prompt's text."""
    from datetime import date, timedelta

    from cloner.tts import synthesize
    from guard import asr
    from guard.consent.statement import match_statement
    from guard.consent.template import statement_text
    from guard.consent.verdict import STATEMENT_THRESHOLD, statement_refusal

    people = [dict(subject=s, operator=o, purposes=p, expires=date.today() + timedelta(days=d))
              for s, o, p, d in STATEMENT_PEOPLE]
    kinds = ("own", "subject", "operator", "purposes", "day", "month", "year", "unrelated")
    accepted: dict[str, list[bool]] = {k: [] for k in kinds}
    rows = []
    for voice in progress(STATEMENT_VOICES, silent=silent, desc="statement check"):
        unrelated = synthesize(UNRELATED, voice=voice, sample_rate=RATE)
        for i, person in enumerate(people):
            code = STATEMENT_CODES[i % len(STATEMENT_CODES)]
            y = synthesize(statement_text(**person, code=code), voice=voice, sample_rate=RATE)
            claims = {**_altered_claims(people, i), "unrelated": person}
            for kind, claim in claims.items():
                match = match_statement(unrelated if kind == "unrelated" else y, sample_rate=RATE, **claim, code=code)
                ok = statement_refusal(match, day=claim["expires"]) is None
                accepted[kind].append(ok)
                rows.append({"voice": voice, "person": person["subject"], "claim": kind, "accepted": ok,
                             "overall": round(match.overall, 3), "weakest": match.weakest()[0]})
    result = {"rows": rows, "accepted_fraction": {k: round(float(np.mean(v)), 3) for k, v in accepted.items()},
              "trials": {k: len(v) for k, v in accepted.items()}}
    real = _asterisk_prompts(min_words=8, limit=max_prompts)
    if real:
        own, other = [], []
        for i, (y, text) in enumerate(progress(real, silent=silent, desc="asterisk prompts")):
            own.append(asr.match_score(y, sample_rate=RATE, phrase=text))
            other.append(asr.match_score(y, sample_rate=RATE, phrase=real[(i + 1) % len(real)][1]))
        result["real_prompts"] = {
            "corpus": "asterisk Allison prompts (real, 8 kHz), scored against their own and the next prompt's text",
            "n": len(real), "own_mean": round(float(np.mean(own)), 3), "other_mean": round(float(np.mean(other)), 3),
            "overall_threshold": STATEMENT_THRESHOLD,
            "own_over_threshold": round(float(np.mean(np.array(own) >= STATEMENT_THRESHOLD)), 3),
            "other_over_threshold": round(float(np.mean(np.array(other) >= STATEMENT_THRESHOLD)), 3)}
    return result


def _asterisk_prompts(*, min_words: int, limit: int) -> list[tuple[np.ndarray, str]]:
    """Real prompts with their transcripts (Debian asterisk-core-sounds-en), the longer ones first found."""
    import gzip

    from guard.audio import load

    if not ASTERISK_TEXT.is_file():
        return []
    out = []
    for line in gzip.open(ASTERISK_TEXT, "rt", encoding="utf-8", errors="replace"):
        name, sep, text = line.partition(":")
        wav = ASTERISK / f"{name.strip()}.wav"
        if sep and not line.startswith(";") and len(text.split()) >= min_words and wav.is_file():
            out.append((load(wav, sample_rate=RATE), text.strip()))
            if len(out) == limit:
                break
    return out


@click.command("ledger")
@click.option("--events", "n_events", type=click.IntRange(1, 10_000_000), default=100_000, show_default=True,
              help="Events to append and then audit.")
@click.option("--speaker-eer", is_flag=True, help="Also measure the speaker-match EER (real speech and espeak).")
@click.option("--statement-check", is_flag=True, help="Also measure how often the consent statement check accepts own and altered claims (espeak).")
@click.option("--max-speakers", type=click.IntRange(2, 1000), default=251, show_default=True,
              help="Most librispeech-sample speakers for --speaker-eer (a seeded choice when there are more).")
@click.option("--max-prompts", type=click.IntRange(2, 1000), default=120, show_default=True)
@click.option("--out", type=OutputFolder(), default=None, help="Write ledger.json here.")
@seed_option
@json_option
@quiet_option
def command(n_events: int, speaker_eer: bool, statement_check: bool, max_speakers: int, max_prompts: int, out: Path | None, seed: int,
            as_json: bool, quiet: bool) -> None:
    """Ledger append rate and audit time (and, with --speaker-eer, the speaker-match EER)."""
    silent = as_json or quiet
    result = {"ledger": measure_ledger(n_events=n_events, seed=seed, silent=silent), "seed": seed}
    if speaker_eer:
        result["speaker_eer"] = measure_speaker_eer(max_speakers=max_speakers, max_prompts=max_prompts, seed=seed,
                                                    silent=silent)
        result["speaker_eer"]["per_recording"] = measure_per_recording(
            librispeech=LIBRISPEECH, asterisk=ASTERISK, max_speakers=max_speakers, seed=seed, silent=silent)
    if statement_check:
        result["statement_check"] = measure_statement_check(max_prompts=max_prompts, silent=silent)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "ledger.json").write_text(to_json(result, indent=2))
    if as_json:
        emit_json(result)
        return
    if quiet:
        return
    r = result["ledger"]
    say(f"ledger: {r['events']} appends in {r['append_s']} s = {r['appends_per_s']} events/s (target >= 500); "
        f"audit {r['audit_s']} s wall, {r['audit_cpu_s']} CPU s (target <= 30 s for 100,000), ok={r['audit_ok']}, "
        f"{r['database_mb']} MB; load average {r['load_average_1min']} while measuring")
    proofs = r["proof_ms_median"]
    if proofs["inclusion"] is not None:
        say(f"proofs from the middle of the log (median of 5): inclusion {proofs['inclusion']} ms, "
            f"consistency {proofs['consistency']} ms")
    if statement_check:
        sc = result["statement_check"]
        say("statement check, accepted (espeak-ng statements; a claim with one field changed should be refused): "
            + ", ".join(f"{k} {v:.0%} of {sc['trials'][k]}" for k, v in sc["accepted_fraction"].items()))
        if "real_prompts" in sc:
            rp = sc["real_prompts"]
            say(f"overall match on {rp['n']} real prompts: own text mean {rp['own_mean']:.2f} "
                f"({rp['own_over_threshold']:.0%} >= {rp['overall_threshold']}), another prompt's text mean "
                f"{rp['other_mean']:.2f} ({rp['other_over_threshold']:.0%})")
    for row in result.get("speaker_eer", {}).get("rows", []) + [result.get("speaker_eer", {}).get("pooled_real")]:
        if row:
            say(f"speaker EER {row['corpus']:38s} {row['eer']:.2%} at cos {row['eer_threshold']:.3f} "
                f"({row['same_trials']} same / {row['different_trials']} different trials; at the "
                f"threshold in use: FAR {row['far_at_threshold']:.2%}, FRR {row['frr_at_threshold']:.2%})")
    if speaker_eer:
        for line in table_lines(result["speaker_eer"]["per_recording"]):
            say(line)
