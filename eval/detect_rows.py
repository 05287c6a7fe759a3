"""The metric rows of `voiceguard bench detect`: EER and friends per condition, by attack and by codec, and their text.

A row holds EER, its threshold, TPR at 1 % FPR and the clip counts; min t-DCF (ASVspoof 2019
cost model) against ASV trials when given; ``by_attack``; and ``by_codec`` on corpora whose
protocol names a codec per file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from eval.asv_trials import AsvScores

__all__ = ["metrics", "metrics_or_note", "codec_rows", "min_tdcf_of", "condition_row", "scored_row", "eer_text",
           "tdcf_text", "condition_line", "attack_table", "codec_table"]


def metrics(bona: np.ndarray, spoof: np.ndarray) -> dict:
    from eval.metrics import compute_eer, tpr_at_fpr

    eer, thr = compute_eer(bona, spoof)
    return {"eer": round(eer, 5), "threshold": round(thr, 5), "tpr_at_fpr_1pct": round(tpr_at_fpr(bona, spoof, fpr=0.01), 5),
            "n_bonafide": int(bona.size), "n_spoof": int(spoof.size)}


def metrics_or_note(bona: np.ndarray, spoof: np.ndarray, *, where: str) -> dict:
    """:func:`metrics`, or a row of None with a note when a class has no score (``where`` ends the note)."""
    if bona.size and spoof.size:
        return metrics(bona, spoof)
    missing = "bonafide" if not bona.size else "spoof"
    return {"eer": None, "threshold": None, "tpr_at_fpr_1pct": None, "n_bonafide": int(bona.size), "n_spoof": int(spoof.size),
            "note": f"no {missing} clip {where}"}


def codec_rows(clips: list, scores: np.ndarray) -> dict | None:
    """Metrics over the bona fide and spoof clips of each codec; None when the corpus names no codec.

    Parameters
    ----------
    clips : list of (item, np.ndarray)
        Scored clips; :func:`eval.datasets.codec_of` gives each item's codec.
    scores : np.ndarray [shape=(len(clips),)]
        Their scores, higher = more synthetic.
    """
    from eval.datasets import codec_of

    codecs = np.asarray([codec_of(it) for it, _ in clips], dtype=object)
    named = sorted({c for c in codecs if c is not None})
    if not named:
        return None
    is_spoof = np.asarray([it.label == "spoof" for it, _ in clips])
    return {c: metrics_or_note(scores[(codecs == c) & ~is_spoof], scores[(codecs == c) & is_spoof], where="with this codec")
            for c in named}


def min_tdcf_of(bona: np.ndarray, spoof: np.ndarray, asv: AsvScores) -> float | None:
    """Min t-DCF of detector scores (higher = more synthetic) against the ASV trials ``asv``; None where undefined."""
    from eval.metrics import min_tdcf
    from guard.errors import ParameterError

    try:
        return round(min_tdcf(bona, spoof, asv_target_scores=asv.target, asv_nontarget_scores=asv.nontarget,
                              asv_spoof_scores=asv.spoof), 5)
    except ParameterError:
        return None


def condition_row(clips: list, scores: np.ndarray, asv: AsvScores | None = None) -> dict:
    """The metrics row of one condition: EER and friends, min t-DCF with ``asv``, by attack and by codec."""
    is_spoof = np.asarray([it.label == "spoof" for it, _ in clips], dtype=bool)
    attacks = np.asarray([it.attack for it, _ in clips])
    row = metrics_or_note(scores[~is_spoof], scores[is_spoof], where="left to score")
    if row["eer"] is None:
        row["by_attack"] = {}
    else:
        if asv is not None:
            row["min_tdcf"] = min_tdcf_of(scores[~is_spoof], scores[is_spoof], asv)
        row["by_attack"] = {a: metrics(scores[~is_spoof], scores[is_spoof & (attacks == a)]) for a in sorted(set(attacks[is_spoof]))}
    by_codec = codec_rows(clips, scores)
    if by_codec is not None:
        row["by_codec"] = by_codec
    return row


def scored_row(clips: list, scores: np.ndarray, skipped: list[dict], asv: AsvScores | None, attack_skipped: list[dict]) -> tuple[dict, list, np.ndarray]:
    """The metrics row of one condition over the clips that were scored, with its skip count."""
    ok = np.isfinite(scores)
    kept = [c for c, k in zip(clips, ok) if k]
    row = condition_row(kept, scores[ok], asv)
    row["n_skipped"] = int((~ok).sum())
    row["skipped"] = attack_skipped + skipped
    return row, kept, scores[ok]


def eer_text(row: dict) -> str:
    return f"{100 * row['eer']:6.2f}%" if row.get("eer") is not None else "   n/a "


def condition_line(name: str, cnn: dict, gmm: dict | None) -> str:
    """The stderr line of one condition: CNN EER (min t-DCF), its clip counts, LFCC-GMM EER when it ran, skips."""
    line = f"{name:>10}: CNN EER {eer_text(cnn)}" + tdcf_text(cnn) + f" ({cnn['n_bonafide']} bona fide, {cnn['n_spoof']} spoof)"
    if gmm is not None:
        line += f"   LFCC-GMM EER {eer_text(gmm)}" + tdcf_text(gmm)
    if cnn["n_skipped"]:
        line += f"   ({cnn['n_skipped']} clip(s) skipped)"
    return line


def attack_table(results: dict) -> list[str]:
    """Lines of the EER-by-attack tables (``by_attack``): per system that ran, a row per attack, a column per condition.

    Each cell is that attack's spoofs against all the condition's bona fide clips; ``n/a``
    where the condition has no row for the attack. None when no condition has ``by_attack``.
    """
    lines = []
    for system, rows in (("CNN", results["cnn"]), ("LFCC-GMM", results["gmm"] or {})):
        attacks = sorted({a for row in rows.values() for a in row.get("by_attack", {})})
        if not attacks:
            continue
        width = max(len("attack"), *(len(a) for a in attacks))
        columns = [(name, max(len(name), 7)) for name in rows]
        lines += [f"EER by attack ({system}):", f"{'attack':<{width}}" + "".join(f"  {n:>{w}}" for n, w in columns)]
        lines += [f"{a:<{width}}" + "".join(f"  {eer_text(rows[n].get('by_attack', {}).get(a, {})):>{w}}" for n, w in columns)
                  for a in attacks]
    return lines


def codec_table(results: dict) -> list[str]:
    """Lines of the per-codec EER table (CNN, and LFCC-GMM when it ran); none when no condition has ``by_codec``."""
    gmm = results["gmm"]
    lines = []
    for name, row in results["cnn"].items():
        for codec, cell in row.get("by_codec", {}).items():
            text = f"{name:>10}  {codec:<14} {eer_text(cell):>8}"
            if gmm is not None:
                text += f" {eer_text(gmm.get(name, {}).get('by_codec', {}).get(codec, {})):>8}"
            lines.append(text + f" {cell['n_bonafide']:>9} {cell['n_spoof']:>6}")
    if not lines:
        return []
    head = f"{'condition':>10}  {'codec':<14} {'CNN EER':>8}" + (f" {'GMM EER':>8}" if gmm is not None else "")
    return ["EER by codec:", head + f" {'bona fide':>9} {'spoof':>6}", *lines]


def tdcf_text(row: dict) -> str:
    return f" (min t-DCF {row['min_tdcf']:.4f})" if row.get("min_tdcf") is not None else ""
