"""The attack conditions of `voiceguard bench detect`: the suite's attacks by name, and a few built in."""

from __future__ import annotations

from collections.abc import Callable

import click
import numpy as np

Attack = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def _builtin_attacks() -> dict[str, Attack]:
    from guard.audio import transcode
    from guard.detect.augment import telephone

    return {
        "none": lambda y, sr, rng: y,
        "mp3_32k": lambda y, sr, rng: transcode(y, sample_rate=sr, codec="mp3", bitrate_bps=32000),
        "opus_16k": lambda y, sr, rng: transcode(y, sample_rate=sr, codec="opus", bitrate_bps=16000),
        "telephone": telephone,
    }


def resolve_attacks(names: list[str]) -> dict[str, tuple[Attack, str]]:
    """name -> (fn(y, sample_rate, rng), where it comes from): eval.attacks first, else built in."""
    builtin = _builtin_attacks()
    try:
        from eval import attacks as suite  # written by the attack-suite owner; optional here
    except ImportError:
        suite = None
    out = {}
    suite_attacks = getattr(suite, "ATTACKS", {}) if suite is not None else {}
    for name in names:
        if name in suite_attacks:
            out[name] = ((lambda y, sr, rng, a=suite_attacks[name]: a.apply(y, sample_rate=sr, rng=rng)), "eval.attacks")
        elif name in builtin:
            out[name] = (builtin[name], "builtin")
        else:
            known = sorted(set(builtin) | set(suite_attacks))
            raise click.BadParameter(f"unknown attack {name!r}; choose from {', '.join(known)}", param_hint="--attacks")
    return out
